// Baseline for bench/cold-start: the least a sidecar does before a message reaches the runtime. Connect with
// amqplib, consume with prefetch 1, and hand the first message's body to the runtime socket as one frame.
// Args: <amqp url> <queue> <socket path>
import { connect } from 'node:net';
import amqp from 'amqplib';

const [url, queue, socketPath] = process.argv.slice(2);
const connection = await amqp.connect(url, { noDelay: true });
const channel = await connection.createChannel();
await channel.prefetch(1);
await channel.consume(queue, (msg) => {
  if (!msg) return;
  const frame = Buffer.alloc(4 + msg.content.length);
  frame.writeUInt32BE(msg.content.length, 0);
  msg.content.copy(frame, 4);
  connect(socketPath).end(frame);
});
