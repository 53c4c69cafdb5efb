// Baseline for bench/hop: the least a hop that calls a runtime can do, with no sidecar. As raw-forwarder.mjs,
// plus for each message: send the envelope to the runtime on its Unix socket (one kept-alive connection per
// handler slot; a frame is a 4-byte big-endian length, ORed with the keep-alive bit on requests, then the
// body: protocol/framing.ts), read the answer's frame, and publish the envelope the runtime's first result
// describes (its route, already advanced by the runtime, and its payload) to the route's next actor. No
// checks and no metrics: a floor, not a sidecar. A connection the runtime closes (a Python worker drops its
// idle one when it accepts another) is replaced by a new one, and a request caught on it is sent once more,
// as the sidecar does (docs/runtimes.md, "Keep-alive").
// Args: <amqp url> <input queue> <runtime socket path> <keep-alive bit> <concurrency> [<prefetch>]
import net from 'node:net';
import { consumeRaw } from '../raw-consumer.mjs';

const [url, input, socketPath, keepAliveBit, concurrency, prefetch] = process.argv.slice(2);

/** One kept-alive connection to the runtime; one request at a time on it. */
function runtimeConnection() {
  const socket = net.connect(socketPath);
  let buffered = Buffer.alloc(0);
  let waiting;
  socket.on('data', (chunk) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    if (buffered.length < 4) return;
    const length = buffered.readUInt32BE(0);
    if (buffered.length < 4 + length) return;
    const frame = buffered.subarray(4, 4 + length);
    buffered = buffered.subarray(4 + length);
    const answered = waiting;
    waiting = undefined;
    answered?.resolve(frame);
  });
  const connection = {
    socket,
    open: true,
    call(body) {
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject };
        const prefix = Buffer.allocUnsafe(4);
        prefix.writeUInt32BE((Number(keepAliveBit) | body.length) >>> 0, 0);
        socket.cork();
        socket.write(prefix);
        socket.write(body);
        socket.uncork();
      });
    },
  };
  socket.on('error', () => {}); // 'close' follows, and says what the caller needs to know
  socket.on('close', () => {
    connection.open = false;
    waiting?.reject(new Error('the runtime closed the connection'));
    waiting = undefined;
  });
  return connection;
}

const idle = Array.from({ length: Number(concurrency) }, runtimeConnection);

/** The runtime's answer frame, on an idle kept-alive connection or a new one. */
async function ask(body) {
  let connection = idle.pop();
  if (!connection?.open) connection = runtimeConnection();
  try {
    return await connection.call(body);
  } finally {
    if (connection.open) idle.push(connection);
  }
}

await consumeRaw(
  url,
  input,
  concurrency,
  async (content, publish) => {
    const [result] = JSON.parse((await ask(content).catch(() => ask(content))).toString('utf8'));
    const { id } = JSON.parse(content.toString('utf8'));
    const envelope = { id, route: result.route, payload: result.payload };
    await publish(result.route.actors[result.route.current], Buffer.from(JSON.stringify(envelope)));
  },
  async () => {
    for (const connection of idle) connection.socket.destroy();
  },
  prefetch ?? concurrency,
);
