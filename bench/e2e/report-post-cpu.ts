/**
 * What one report to the gateway costs the sender in CPU: the same JSON POST, sequentially, with fetch (as
 * sidecars and the crew posted before) and with protocol/gateway-http.ts (node:http on keep-alive sockets),
 * against a bare HTTP server in its own process that answers 200 at once. Rounds alternate, so machine load
 * falls on both alike. Prints CPU microseconds per request of this process (the sender) for each.
 *
 *   npx tsx bench/e2e/report-post-cpu.ts [requests-per-round] [rounds]
 */
import { spawn } from 'node:child_process';
import { postJson } from '../../protocol/gateway-http.ts';
import { median, printTable } from '../support.ts';

const REQUESTS = Number(process.argv[2] ?? 2000);
const ROUNDS = Number(process.argv[3] ?? 3);

const server = spawn(process.execPath, ['-e', `
  const http = require('node:http');
  const s = http.createServer((req, res) => { req.resume(); req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}')); });
  s.listen(0, '127.0.0.1', () => console.log(s.address().port));
`], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise<number>((resolve) => server.stdout.once('data', (c: Buffer) => resolve(Number(c.toString().trim()))));
const url = `http://127.0.0.1:${port}`;
const body = { actors: ['a', 'b'], current_actor_idx: 1, status: 'completed', message: 'Completed processing in 1ms', duration_ms: 1 };

const viaFetch = async () => {
  const res = await fetch(`${url}/envelopes/x/progress`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer t' }, body: JSON.stringify(body), signal: AbortSignal.timeout(5000) });
  await res.text();
};
const viaNodeHttp = () => postJson(url, '/envelopes/x/progress', body, { token: 't', timeoutMs: 5000 });

async function round(post: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 100; i++) await post(); // warm: connections, JIT
  const before = process.cpuUsage();
  for (let i = 0; i < REQUESTS; i++) await post();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / REQUESTS;
}

const results: Record<string, number[]> = { fetch: [], 'node:http keep-alive': [] };
for (let r = 0; r < ROUNDS; r++) {
  results.fetch!.push(await round(viaFetch));
  results['node:http keep-alive']!.push(await round(viaNodeHttp));
}
server.kill();
printTable(`Sender CPU per report POST, µs (${REQUESTS} sequential requests per round, ${ROUNDS} rounds, median)`, Object.entries(results).map(([client, xs]) => ({
  client, 'median µs': median(xs).toFixed(0), rounds: xs.map((x) => x.toFixed(0)).join(', '),
})));
