// What every raw baseline process of the benches shares: connect to RabbitMQ, consume `input` with a
// prefetch, hand each message to `handle` (given a confirmed, persistent publish on the `asya` exchange), ack
// when its promise resolves and requeue when it rejects; print `consuming` once ready (processes.ts waits for
// it), and close on SIGTERM, with `onStop` for the handler's own connections.
import amqp from 'amqplib';

export async function consumeRaw(url, input, prefetch, handle, onStop = async () => {}) {
  const connection = await amqp.connect(url);
  const consumeChannel = await connection.createChannel();
  const publishChannel = await connection.createConfirmChannel();
  await consumeChannel.prefetch(Number(prefetch));
  const publish = (key, body) =>
    new Promise((resolve, reject) =>
      publishChannel.publish('asya', key, body, { persistent: true, contentType: 'application/json', mandatory: true }, (err) => (err ? reject(err) : resolve())),
    );
  await consumeChannel.consume(input, (msg) => {
    if (!msg) return;
    handle(msg.content, publish).then(
      () => consumeChannel.ack(msg),
      (err) => {
        process.stderr.write(`${input}: ${err.message}\n`);
        consumeChannel.nack(msg, false, true);
      },
    );
  });
  process.stdout.write('consuming\n');
  process.on('SIGTERM', async () => {
    await connection.close().catch(() => {});
    await onStop().catch(() => {});
    process.exit(0);
  });
}
