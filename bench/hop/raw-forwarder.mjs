// Baseline for bench/hop: the least a hop can do with amqplib. Consume with prefetch, publish the body to
// the next queue with a publisher confirm and a persistent message, then ack. Run as its own process, like
// the sidecar. Args: <amqp url> <input queue> <output routing key> <prefetch>
import amqp from 'amqplib';

const [url, input, outputKey, prefetch] = process.argv.slice(2);
const connection = await amqp.connect(url);
const consumeChannel = await connection.createChannel();
const publishChannel = await connection.createConfirmChannel();
await consumeChannel.prefetch(Number(prefetch));
await consumeChannel.consume(input, (msg) => {
  if (!msg) return;
  publishChannel.publish('asya', outputKey, msg.content, { persistent: true, contentType: 'application/json', mandatory: true }, (err) => {
    if (err) consumeChannel.nack(msg, false, true);
    else consumeChannel.ack(msg);
  });
});
process.stdout.write('consuming\n');
process.on('SIGTERM', async () => {
  await connection.close().catch(() => {});
  process.exit(0);
});
