// Baseline for bench/runtime: a bare framed echo on a Unix socket, in its own process like a real runtime.
// One request per connection (the original protocol), or, when the length prefix has its top bit set, one
// request after another on the same connection, answered as a one-element list (what the sidecar's client
// accepts from a runtime): the least a keep-alive runtime can do.
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

const KEEP_ALIVE_BIT = 0x80000000;
const OPEN = Buffer.from('[');
const CLOSE = Buffer.from(']');

const dir = process.env.ASYA_SOCKET_DIR;
const server = createServer((socket) => {
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 4) {
      const prefix = pending.readUInt32BE(0);
      const keepAlive = prefix >= KEEP_ALIVE_BIT;
      const size = keepAlive ? prefix - KEEP_ALIVE_BIT : prefix;
      if (pending.length < size + 4) return;
      if (!keepAlive) {
        socket.end(pending);
        return;
      }
      const answer = Buffer.alloc(4);
      answer.writeUInt32BE(size + 2);
      socket.write(Buffer.concat([answer, OPEN, pending.subarray(4, size + 4), CLOSE]));
      pending = pending.subarray(size + 4);
    }
  });
  socket.on('error', () => {});
});
server.listen(join(dir, 'asya-runtime.sock'), () => writeFileSync(join(dir, 'runtime-ready'), 'ready keep-alive'));
process.on('SIGTERM', () => process.exit(0));
