// Baseline for bench/runtime: a bare framed echo on a Unix socket, in its own process like a real runtime.
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

const dir = process.env.ASYA_SOCKET_DIR;
const server = createServer((socket) => {
  const chunks = [];
  let size = -1;
  let got = 0;
  socket.on('data', (chunk) => {
    chunks.push(chunk);
    got += chunk.length;
    if (size < 0 && got >= 4) size = Buffer.concat(chunks).readUInt32BE(0);
    if (size >= 0 && got >= size + 4) socket.end(Buffer.concat(chunks));
  });
  socket.on('error', () => {});
});
server.listen(join(dir, 'asya-runtime.sock'), () => writeFileSync(join(dir, 'runtime-ready'), 'ready'));
process.on('SIGTERM', () => process.exit(0));
