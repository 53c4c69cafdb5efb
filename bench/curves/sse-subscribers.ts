/**
 * Delivery to SSE subscribers against their number (1,000 to 10,000): N streams on one envelope of `asya
 * gateway` (its own process, on PostgreSQL), then progress updates posted one at a time, each timed from
 * its POST to its arrival at every subscriber. The baseline, in the same run, is raw-sse-server.mjs: POST →
 * NOTIFY → LISTEN → a write to every open stream, the same path without store, envelope or auth.
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestSchema, type TestSchema } from '../../test/support/postgres.ts';
import { freePort } from '../../test/support/moto.ts';
import { RABBITMQ_URL } from '../../test/support/rabbitmq.ts';
import { startGatewayProcess, startNodeScript, type BenchProcess } from '../processes.ts';
import { percentile, rssMiB } from '../support.ts';
import { formatCount, type Curve, type CurveSession } from './curve.ts';

const SIDES = [{ key: 'asya', label: 'Asya gateway' }, { key: 'raw', label: 'raw' }];
/** Updates per point; the time to the last subscriber is their median. */
const UPDATES = 5;
/** Subscribers connect in batches this size (the listen backlog is finite; a flood of SYNs gets dropped). */
const CONNECT_BATCH = 500;
/** Besides the streams: the runtime's own files, the broker and database connections. */
const SPARE_FILES = 500;
const DELIVERY_TIMEOUT_MS = 120_000;

/** This process's soft limit of open files (/proc/self/limits); the gateway child inherits it. */
export function openFilesLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.split(/\s{2,}/)[1];
  return soft === 'unlimited' ? Number.POSITIVE_INFINITY : Number(soft);
}

interface Server {
  readonly pid: number;
  /** What a subscriber GETs (the current envelope's stream). */
  streamPath: string;
  publish(mark: string): Promise<void>;
  /** A fresh stream source for the next point (a new envelope), so no point sees the last one's history. */
  renew(): Promise<void>;
  stop(): Promise<void>;
}

interface Subscribers {
  /** Milliseconds from `since` to each subscriber's receipt of `mark`, once all have it. */
  deliveries(mark: string, since: number): Promise<number[]>;
  close(): void;
}

async function subscribe(baseUrl: string, path: string, n: number): Promise<Subscribers> {
  const agent = new http.Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
  const requests: http.ClientRequest[] = [];
  const seen: Array<Map<string, number>> = [];
  const open = (s: number) =>
    new Promise<void>((ready, fail) => {
      const marks = new Map<string, number>();
      seen.push(marks);
      let tail = '';
      const req = http.get(`${baseUrl}${path}`, { agent }, (res) => {
        if (res.statusCode !== 200) fail(new Error(`subscriber ${s}: ${path} answered ${res.statusCode}`));
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const now = performance.now();
          tail += chunk;
          for (const m of tail.matchAll(/bench-mark-\d+/g)) if (!marks.has(m[0])) marks.set(m[0], now);
          tail = tail.slice(-64);
          ready();
        });
        res.on('error', () => {});
      });
      req.on('error', (err) => fail(new Error(`subscriber ${s}: ${err.message}`)));
      requests.push(req);
    });
  for (let first = 0; first < n; first += CONNECT_BATCH) {
    await Promise.all(Array.from({ length: Math.min(CONNECT_BATCH, n - first) }, (_, i) => open(first + i)));
  }
  return {
    async deliveries(mark, since) {
      const deadline = performance.now() + DELIVERY_TIMEOUT_MS;
      while (seen.some((m) => !m.has(mark))) {
        if (performance.now() > deadline) throw new Error(`${seen.filter((m) => !m.has(mark)).length} of ${n} subscribers never got ${mark}`);
        await new Promise((r) => setTimeout(r, 2));
      }
      return seen.map((m) => m.get(mark)! - since);
    },
    close() {
      for (const req of requests) req.destroy();
      agent.destroy();
    },
  };
}

async function startAsyaServer(schema: TestSchema): Promise<Server & { url: string }> {
  // No tools: the envelope endpoints are all this curve uses.
  const gateway = await startGatewayProcess({
    ASYA_DATABASE_URL: schema.url, ASYA_DATABASE_SCHEMA: schema.name,
    ASYA_TRANSPORT: 'rabbitmq', ASYA_RABBITMQ_URL: process.env.ASYA_BENCH_RABBITMQ_URL ?? RABBITMQ_URL, ASYA_GATEWAY_AUTH: 'none',
  });
  const json = { 'content-type': 'application/json' };
  let envelope = '';
  const server = {
    pid: gateway.pid,
    url: gateway.url,
    streamPath: '',
    async renew() {
      envelope = `bench-sse-${randomUUID()}`;
      const res = await fetch(`${gateway.url}/envelopes`, { method: 'POST', headers: json, body: JSON.stringify({ id: envelope, actors: ['bench-sse'] }) });
      if (res.status >= 300) throw new Error(`POST /envelopes answered ${res.status}: ${await res.text()}`);
      server.streamPath = `/envelopes/${envelope}/stream`;
    },
    async publish(mark: string) {
      const res = await fetch(`${gateway.url}/envelopes/${envelope}/progress`, {
        method: 'POST', headers: json, body: JSON.stringify({ actors: ['bench-sse'], current_actor_idx: 0, status: 'processing', message: mark }),
      });
      if (res.status >= 300) throw new Error(`progress answered ${res.status}: ${await res.text()}`);
      await res.text();
    },
    stop: () => gateway.stop(),
  };
  return server;
}

async function startRawServer(schema: TestSchema): Promise<Server & { url: string }> {
  const port = await freePort();
  const proc: BenchProcess = await startNodeScript(join(import.meta.dirname, 'raw-sse-server.mjs'), [schema.url, `bench_sse_${randomUUID().slice(0, 8)}`, String(port)], 'listening');
  const url = `http://127.0.0.1:${port}`;
  return {
    pid: proc.pid,
    url,
    streamPath: '/stream',
    async renew() {},
    async publish(mark) {
      const res = await fetch(`${url}/publish`, { method: 'POST', body: JSON.stringify({ message: mark }) });
      if (res.status !== 200) throw new Error(`raw publish answered ${res.status}: ${await res.text()}`);
      await res.text();
    },
    stop: () => proc.stop(),
  };
}

let marks = 0;

export const sseSubscribersCurve: Curve = {
  name: 'sse-subscribers',
  title: 'SSE subscribers on one envelope',
  method:
    `N subscribers on one envelope's \`GET /envelopes/{id}/stream\` of \`asya gateway\` on PostgreSQL (its own process), ` +
    `against bench/curves/raw-sse-server.mjs (POST → NOTIFY → LISTEN → a write to every stream) in the same run; ` +
    `then ${UPDATES} progress updates, one at a time, each timed from its POST to its arrival at each subscriber. ` +
    `Throughput is subscribers ÷ the median time to the last one; p99 is over every delivery. All subscribers live in ` +
    `the bench process, whose own reading is part of both sides' times. RSS: the server process with the streams open.`,
  x: { label: 'subscribers', log: true, format: formatCount },
  points: { full: [1000, 2000, 5000, 7500, 10_000], quick: [1000, 5000, 10_000] },
  panels: [
    { title: 'deliveries', unit: 'per s', series: SIDES.map((s) => ({ key: `${s.key}/s`, label: s.label })) },
    { title: 'p99 delivery', unit: 'ms', logY: true, series: SIDES.map((s) => ({ key: `${s.key} p99`, label: s.label })) },
    { title: 'time to the last subscriber', unit: 'ms', series: SIDES.map((s) => ({ key: `${s.key} last`, label: s.label })) },
    { title: 'server RSS', unit: 'MiB', series: SIDES.map((s) => ({ key: `${s.key} RSS`, label: s.label })) },
  ],
  ratios: [{ label: 'Asya ÷ raw (deliveries/s)', of: 'asya/s', to: 'raw/s' }],
  async open(context): Promise<CurveSession> {
    // Each of this process and the server holds one file per subscriber. The limit here is checked, not
    // raised: Node cannot raise its own, and a hard limit below this needs the machine's settings changed.
    const needed = Math.max(...context.points) + SPARE_FILES;
    const limit = openFilesLimit();
    if (limit < needed) throw new Error(`${Math.max(...context.points)} subscribers need ${needed} open files; this process may open ${limit} (raise it with ulimit -n before the bench)`);
    const schema = await createTestSchema('asya_bench_sse');
    const servers: Array<Server & { url: string }> = [];
    const close = async () => {
      for (const s of servers) await s.stop();
      await schema.drop();
    };
    try {
      context.log('  starting asya gateway and the raw SSE server ...');
      servers.push(await startAsyaServer(schema), await startRawServer(schema));
    } catch (err) {
      await close();
      throw err;
    }
    return {
      async measure(n) {
        const values: Record<string, number> = {};
        for (const [i, side] of SIDES.entries()) {
          const server = servers[i]!;
          await server.renew();
          const subscribers = await subscribe(server.url, server.streamPath, n);
          try {
            const all: number[] = [];
            const lasts: number[] = [];
            // Update -1 warms the path (JIT, the first write to every socket) and is not counted.
            for (let u = -1; u < UPDATES; u++) {
              const mark = `bench-mark-${++marks}`;
              const since = performance.now();
              await server.publish(mark);
              const times = await subscribers.deliveries(mark, since);
              if (u < 0) continue;
              all.push(...times);
              lasts.push(Math.max(...times));
            }
            all.sort((a, b) => a - b);
            lasts.sort((a, b) => a - b);
            const last = percentile(lasts, 50);
            Object.assign(values, {
              [`${side.key}/s`]: (n / last) * 1000, [`${side.key} p50`]: percentile(all, 50), [`${side.key} p99`]: percentile(all, 99),
              [`${side.key} last`]: last, [`${side.key} RSS`]: rssMiB(server.pid),
            });
          } finally {
            subscribers.close();
          }
        }
        return values;
      },
      close,
    };
  },
};
