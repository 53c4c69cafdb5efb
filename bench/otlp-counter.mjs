// The OTLP/HTTP receiver of the benchmarks, in its own process as a collector would be, so its work is never
// counted as the traced component's: counts the spans it is sent (a regex over the JSON, no decoding) and
// answers the count on GET /count. Prints its port when listening.
import { createServer } from 'node:http';

let spans = 0;
const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/count') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end(String(spans));
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    spans += (Buffer.concat(chunks).toString('utf8').match(/"spanId"/g) ?? []).length;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
