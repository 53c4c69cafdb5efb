/**
 * Gateway benchmark against real PostgreSQL and RabbitMQ, all in one run:
 *  - tools/call throughput and latency (REST and MCP), closed loop at a fixed concurrency, beside a raw
 *    baseline that does only what a call must do: one INSERT into the envelopes table and one confirmed
 *    publish, from this process with the same concurrency;
 *  - p50/p99 at a steady 200 calls/s (open loop: latency counts from the scheduled send time);
 *  - SSE fan-out: N subscribers on one envelope, time from posting an update to the last subscriber
 *    receiving it;
 *  - CPU per call of each process involved, since all of them share the machine's cores.
 * Calls go through node:http on keep-alive sockets (http-client.ts), the cheapest client at hand, because
 * the load generator's own cost is taken from the cores the gateway runs on.
 * The gateway runs as its own process (`asya gateway`), as it does in production.
 *
 *   npx tsx bench/gateway/run.ts [calls] [seconds-at-200/s] [subscribers] [concurrency]
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { queueName } from '../../protocol/queues.ts';
import { createTestSchema } from '../../test/support/postgres.ts';
import { RABBITMQ_URL } from '../../test/support/rabbitmq.ts';
import { RabbitMqTransport } from '../../transport/rabbitmq/rabbitmq.ts';
import { startGatewayProcess } from '../processes.ts';
import { percentile, printTable, rssMiB } from '../support.ts';
import { BenchClient } from './http-client.ts';
import { cpuSince, readCpu, type CpuGroups } from './process-cpu.ts';

const CALLS = Number(process.argv[2] ?? 3000);
const STEADY_SECONDS = Number(process.argv[3] ?? 10);
const SUBSCRIBERS = Number(process.argv[4] ?? 1000);
const CONCURRENCY = Number(process.argv[5] ?? 16);
const RATE = 200;
const ROUNDS = Number(process.env.ASYA_BENCH_ROUNDS ?? 3);

const schema = await createTestSchema('asya_bench_gw');
const actor = `bench-gw-${randomUUID().slice(0, 8)}`;
const transport = await RabbitMqTransport.connect({ url: RABBITMQ_URL, connectionName: 'bench-gateway' });
await transport.ensureQueue(queueName(actor));
const dir = await mkdtemp(join(tmpdir(), 'asya-bench-gw-'));
await writeFile(join(dir, 'tools.yaml'), `tools:\n- name: bench\n  parameters: {text: {type: string, required: true}, n: {type: integer}}\n  route: [${actor}]\n  timeout: 600\n`);

// --- the gateway, as its own process ---
const gateway = await startGatewayProcess({
  ASYA_CONFIG_PATH: join(dir, 'tools.yaml'), ASYA_DATABASE_URL: schema.url, ASYA_DATABASE_SCHEMA: schema.name,
  ASYA_TRANSPORT: 'rabbitmq', ASYA_RABBITMQ_URL: RABBITMQ_URL, ASYA_GATEWAY_AUTH: 'none',
});
const url = gateway.url;
// Never leave the gateway behind, even when this run is interrupted.
process.once('SIGINT', () => {
  gateway.child.kill('SIGTERM');
  process.exit(130);
});

async function cleanup(): Promise<void> {
  await gateway.stop();
  await transport.deleteQueue(queueName(actor)).catch(() => {});
  await transport.close();
  await schema.drop();
  await rm(dir, { recursive: true, force: true });
}

try {
  // --- what one call costs in each case ---
  const sql = postgres(schema.url, { max: 10, onnotice: () => {}, connection: { search_path: schema.name } });
  const body = (i: number) => ({ text: `hello ${i}`, n: i });

  async function rawCall(i: number): Promise<void> {
    const id = randomUUID();
    const payload = body(i);
    await sql`insert into envelopes (id, status, route_actors, payload, tool_name, total_actors)
              values (${id}, 'pending', array[${actor}]::text[], ${sql.json(payload)}, 'bench', 1)`;
    await transport.publish(queueName(actor), Buffer.from(JSON.stringify({ id, route: { actors: [actor], current: 0 }, payload })));
  }

  // What HTTP alone costs here (client and server on the same two cores): the gateway's cheapest route.
  // Enough sockets for the open loop's bursts too; an idle keep-alive socket costs nothing.
  const client = new BenchClient(url, 256);
  async function healthCall(): Promise<void> {
    await client.request('GET', '/health');
  }

  const json = { 'content-type': 'application/json' };
  async function restCall(i: number): Promise<void> {
    const res = await client.request('POST', '/tools/call', JSON.stringify({ name: 'bench', arguments: body(i) }), json);
    if (res.status !== 200 || res.text.includes('"isError"')) throw new Error(`tools/call answered ${res.status}: ${res.text}`);
  }

  const mcpHeaders = { ...json, accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' };
  const init = await client.request('POST', '/mcp', JSON.stringify({
    jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
  }), mcpHeaders);
  const session = init.headers['mcp-session-id'] as string;
  async function mcpCall(i: number): Promise<void> {
    const res = await client.request('POST', '/mcp', JSON.stringify({ jsonrpc: '2.0', id: i + 1, method: 'tools/call', params: { name: 'bench', arguments: body(i) } }), {
      ...mcpHeaders, 'mcp-session-id': session,
    });
    if (res.status !== 200 || !res.text.includes('envelope_id')) throw new Error(`MCP tools/call answered ${res.status}: ${res.text}`);
  }

  async function closedLoop(call: (i: number) => Promise<void>, n: number, concurrency: number) {
    const latencies: number[] = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < n) {
          const i = next++;
          const t = performance.now();
          await call(i);
          latencies.push(performance.now() - t);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    return { perSecond: n / seconds, latencies };
  }

  async function openLoop(call: (i: number) => Promise<void>, rate: number, seconds: number) {
    const n = rate * seconds;
    const latencies: number[] = [];
    const start = performance.now() + 50;
    await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const at = start + (i * 1000) / rate;
        await new Promise((r) => setTimeout(r, Math.max(0, at - performance.now())));
        await call(i);
        latencies.push(performance.now() - at);
      }),
    );
    return latencies;
  }

  // Warm every path (JIT, pools, prepared statements) before measuring.
  await closedLoop(rawCall, 200, CONCURRENCY);
  await closedLoop(healthCall, 200, CONCURRENCY);
  await closedLoop(restCall, 200, CONCURRENCY);
  await closedLoop(mcpCall, 200, CONCURRENCY);

  // Cases take turns over several rounds, so background load on this shared machine hits them alike;
  // throughput is the median round, latencies are pooled over the rounds.
  const cases = { raw: rawCall, floor: healthCall, rest: restCall, mcp: mcpCall } as const;
  type Name = keyof typeof cases;
  const rates: Record<Name, number[]> = { raw: [], floor: [], rest: [], mcp: [] };
  const loaded: Record<Name, number[]> = { raw: [], floor: [], rest: [], mcp: [] };
  const steady: Record<Name, number[]> = { raw: [], floor: [], rest: [], mcp: [] };
  const cpu: Record<Name, CpuGroups[]> = { raw: [], floor: [], rest: [], mcp: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of Object.keys(cases) as Name[]) {
      const n = Math.ceil(CALLS / ROUNDS);
      const before = readCpu(gateway.pid as number);
      const result = await closedLoop(cases[name], n, CONCURRENCY);
      cpu[name].push(cpuSince(before, readCpu(gateway.pid as number), n));
      rates[name].push(result.perSecond);
      loaded[name].push(...result.latencies);
    }
    for (const name of ['raw', 'rest', 'mcp'] as const) steady[name].push(...(await openLoop(cases[name], RATE, Math.ceil(STEADY_SECONDS / ROUNDS))));
  }
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  const summary = (name: Name) => {
    const perSecond = percentile(sorted(rates[name]), 50);
    const l = sorted(loaded[name]);
    const st = sorted(steady[name]);
    return { perSecond, p50: percentile(l, 50), p99: percentile(l, 99), steady50: st.length ? percentile(st, 50) : Number.NaN, steady99: st.length ? percentile(st, 99) : Number.NaN };
  };
  const raw = summary('raw');
  const floor = summary('floor');
  const rest = summary('rest');
  const mcp = summary('mcp');
  const steadyRaw = { p50: raw.steady50, p99: raw.steady99 };
  const steadyRest = { p50: rest.steady50, p99: rest.steady99 };
  const steadyMcp = { p50: mcp.steady50, p99: mcp.steady99 };
  const rssAfterCalls = rssMiB(gateway.pid as number);

  printTable(`tools/call: ${CALLS} calls per case at concurrency ${CONCURRENCY}, then ${RATE}/s for ${STEADY_SECONDS} s, in ${ROUNDS} interleaved rounds`, [
    { case: 'raw INSERT + publish (baseline)', 'calls/s': raw.perSecond, 'vs raw': '100%', p50_ms: raw.p50, p99_ms: raw.p99, [`p50 @${RATE}/s`]: steadyRaw.p50, [`p99 @${RATE}/s`]: steadyRaw.p99 },
    { case: 'HTTP floor: GET /health', 'calls/s': floor.perSecond, 'vs raw': `${Math.round((100 * floor.perSecond) / raw.perSecond)}%`, p50_ms: floor.p50, p99_ms: floor.p99, [`p50 @${RATE}/s`]: '', [`p99 @${RATE}/s`]: '' },
    { case: 'gateway REST /tools/call', 'calls/s': rest.perSecond, 'vs raw': `${Math.round((100 * rest.perSecond) / raw.perSecond)}%`, p50_ms: rest.p50, p99_ms: rest.p99, [`p50 @${RATE}/s`]: steadyRest.p50, [`p99 @${RATE}/s`]: steadyRest.p99 },
    { case: 'gateway MCP tools/call', 'calls/s': mcp.perSecond, 'vs raw': `${Math.round((100 * mcp.perSecond) / raw.perSecond)}%`, p50_ms: mcp.p50, p99_ms: mcp.p99, [`p50 @${RATE}/s`]: steadyMcp.p50, [`p99 @${RATE}/s`]: steadyMcp.p99 },
  ]);
  // Median round per process group: a neighbour's burst on this shared machine lands in one round, not all.
  const cpuRow = (label: string, name: Name) => {
    const groups = Object.keys(cpu[name][0] as CpuGroups);
    const median = (k: string) => percentile(sorted(cpu[name].map((g) => g[k] as number)), 50);
    const row: Record<string, string | number> = { case: label };
    for (const k of groups) row[k] = median(k);
    row.total = groups.reduce((sum, k) => sum + median(k), 0);
    return row;
  };
  printTable('CPU ms per call by process (load = this benchmark process, which is also the HTTP client; postgres and rabbitmq count every client of theirs on the machine)', [
    cpuRow('raw INSERT + publish (baseline)', 'raw'),
    cpuRow('HTTP floor: GET /health', 'floor'),
    cpuRow('gateway REST /tools/call', 'rest'),
    cpuRow('gateway MCP tools/call', 'mcp'),
  ]);
  console.log(`gateway RSS after the calls: ${rssAfterCalls.toFixed(0)} MiB`);

  // --- SSE fan-out ---
  const envelopeId = `bench-sse-${randomUUID()}`;
  await fetch(`${url}/envelopes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: envelopeId, actors: [actor] }) });
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const seen: Array<Map<string, number>> = [];
  const requests: http.ClientRequest[] = [];
  await Promise.all(
    Array.from({ length: SUBSCRIBERS }, (_, s) =>
      new Promise<void>((ready, fail) => {
        const marks = new Map<string, number>();
        seen.push(marks);
        const req = http.get(`${url}/envelopes/${envelopeId}/stream`, { agent }, (res) => {
          let buffer = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            const now = performance.now();
            buffer += chunk;
            for (const m of buffer.matchAll(/"message":"(bench-\d+|Envelope created)"/g)) if (!marks.has(m[1]!)) marks.set(m[1]!, now);
            buffer = buffer.slice(Math.max(0, buffer.length - 200));
            if (marks.has('Envelope created')) ready();
          });
          res.on('error', () => {});
        });
        req.on('error', (err) => fail(new Error(`subscriber ${s}: ${err.message}`)));
        requests.push(req);
      }),
    ),
  );
  const rounds: Array<{ accepted: number; first: number; last: number }> = [];
  for (let k = 1; k <= 5; k++) {
    const mark = `bench-${k}`;
    const t0 = performance.now();
    const res = await fetch(`${url}/envelopes/${envelopeId}/progress`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ actors: [actor], current_actor_idx: 0, status: 'processing', message: mark }),
    });
    await res.text();
    const accepted = performance.now() - t0;
    while (seen.some((m) => !m.has(mark))) await new Promise((r) => setTimeout(r, 1));
    const times = seen.map((m) => (m.get(mark) as number) - t0).sort((a, b) => a - b);
    rounds.push({ accepted, first: times[0]!, last: times[times.length - 1]! });
    await new Promise((r) => setTimeout(r, 200));
  }
  const rssWithStreams = rssMiB(gateway.pid as number);
  const lasts = rounds.map((r) => r.last).sort((a, b) => a - b);
  printTable(`SSE fan-out: ${SUBSCRIBERS} subscribers on one envelope, 5 updates`, rounds.map((r, i) => ({ update: i + 1, 'POST answered ms': r.accepted, 'first ms': r.first, 'last ms': r.last })));
  console.log(`median time to the last subscriber: ${percentile(lasts, 50).toFixed(1)} ms; gateway RSS with ${SUBSCRIBERS} streams: ${rssWithStreams.toFixed(0)} MiB`);

  for (const req of requests) req.destroy();
  agent.destroy();
  client.close();
  await sql.end();
} finally {
  await cleanup();
}
