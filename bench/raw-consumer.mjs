// What every raw baseline process of the benches shares: connect to RabbitMQ, consume `input` with at most
// `concurrency` handlers at once and a prefetch window of `prefetch` (default: the same; the callers pass
// the sidecar's own window, transport/rabbitmq/rabbitmq-consumer.ts prefetchFor, so both sides hold the
// same messages ahead), hand each message to `handle` (given a confirmed, persistent publish on the `asya`
// exchange), ack when its promise resolves and requeue when it rejects; print `consuming` once ready
// (processes.ts waits for it), and close on SIGTERM, with `onStop` for the handler's own connections.
import amqp from 'amqplib';

export async function consumeRaw(url, input, concurrency, handle, onStop = async () => {}, prefetch = concurrency) {
  // As the transport connects (transport/rabbitmq/rabbitmq.ts): without Nagle's algorithm.
  const connection = await amqp.connect(url, { noDelay: true });
  const consumeChannel = await connection.createChannel();
  const publishChannel = await connection.createConfirmChannel();
  await consumeChannel.prefetch(Number(prefetch));
  const publish = (key, body) =>
    new Promise((resolve, reject) =>
      publishChannel.publish('asya', key, body, { persistent: true, contentType: 'application/json', mandatory: true }, (err) => (err ? reject(err) : resolve())),
    );
  const limit = Number(concurrency);
  const waiting = [];
  let running = 0;
  const start = () => {
    while (running < limit && waiting.length > 0) {
      const msg = waiting.shift();
      running++;
      handle(msg.content, publish).then(
        () => consumeChannel.ack(msg),
        (err) => {
          process.stderr.write(`${input}: ${err.message}\n`);
          consumeChannel.nack(msg, false, true);
        },
      ).finally(() => {
        running--;
        start();
      });
    }
  };
  await consumeChannel.consume(input, (msg) => {
    if (!msg) return;
    waiting.push(msg);
    start();
  });
  process.stdout.write('consuming\n');
  process.on('SIGTERM', async () => {
    await connection.close().catch(() => {});
    await onStop().catch(() => {});
    process.exit(0);
  });
}
