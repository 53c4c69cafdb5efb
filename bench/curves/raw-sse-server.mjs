// The raw baseline of the gateway's SSE fan-out: the least the same path can do. POST /publish NOTIFYs the
// body on a PostgreSQL channel; the server LISTENs on it and writes each notification as an SSE event to every
// open GET /stream. That is the gateway's path (store, NOTIFY, LISTEN, every stream of the envelope) with no
// store, no envelope and no auth. Prints `listening <port>`. Args: <postgres url> <notify channel>
import http from 'node:http';
import postgres from 'postgres';

const [databaseUrl, channel, port] = process.argv.slice(2);
const sql = postgres(databaseUrl, { max: 2, onnotice: () => {} });
const streams = new Set();
await sql.listen(channel, (body) => {
  const event = `data: ${body}\n\n`;
  for (const res of streams) res.write(event);
});
const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stream') {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(': open\n\n');
    streams.add(res);
    req.on('close', () => streams.delete(res));
    return;
  }
  if (req.method === 'POST' && req.url === '/publish') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      sql`select pg_notify(${channel}, ${Buffer.concat(chunks).toString('utf8')})`.then(
        () => res.writeHead(200).end('{}'),
        (err) => res.writeHead(500).end(err.message),
      );
    });
    return;
  }
  res.writeHead(404).end();
});
server.listen(Number(port), '127.0.0.1', () => process.stdout.write('listening\n'));
process.on('SIGTERM', async () => {
  server.closeAllConnections();
  server.close();
  await sql.end().catch(() => {});
  process.exit(0);
});
