/**
 * One hop on RabbitMQ (persistent messages, publisher confirms, 1 KiB payloads): raw amqplib consume →
 * publish → ack as the baseline, against `asya sidecar` with the Node runtime and with the Python runtime,
 * all in the same run. Reports throughput, latency at a steady 100 msg/s (and what the sidecar adds over
 * the baseline), and the sidecar's RSS. The Node case runs again with tracing on, exporting every span to
 * an OTLP/HTTP receiver (a process of its own), for the cost of tracing per hop (docs/performance.md), and
 * once more with tracing on but every envelope's traceparent unsampled, as a caller that samples would send
 * most of them: what a hop costs when it records nothing. A second baseline, raw amqplib calling the same
 * runtime itself (raw-runtime-hop.mjs), is the least any hop with a runtime in another process can cost: what
 * the sidecar adds over it is the sidecar's own work, apart from the second socket that the design brings.
 * Every process runs with the image's node arguments (bench/processes.ts), the baselines too;
 * ASYA_BENCH_SIDECAR_NODE_ARGS and ASYA_BENCH_BASELINE_NODE_ARGS replace them ("" for node's defaults).
 *
 *   npx tsx bench/hop/run.ts [messages-for-throughput] [seconds-at-100-per-s]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import amqp from 'amqplib';
import { fixtureHandler, REPO_ROOT, startRuntime, type RuntimeProcess } from '../../test/support/runtime-process.ts';
import { ASYA_ENTRY as ENTRY, baselineNodeArgs, sidecarNodeArgs, waitForLine } from '../processes.ts';
import { countingOtlpReceiver, cpuMs, freshActorQueue, percentile, printTable, rssMiB } from '../support.ts';
import { prefetchFor } from '../../transport/rabbitmq/rabbitmq-consumer.ts';
import { KEEP_ALIVE_BIT } from '../../protocol/framing.ts';
import { SOCKET_NAME } from '../../protocol/socket-dir.ts';

const URL = process.env.ASYA_BENCH_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const N = Number(process.argv[2] ?? 3000);
const STEADY_SECONDS = Number(process.argv[3] ?? 10);
const PAD = 'x'.repeat(1024);

interface Case {
  name: string;
  concurrency: number;
  runtime?: { kind: 'node' | 'python'; workers?: number };
  /** The sidecar exports its spans to the receiver below; `unsampled`: the envelopes' traceparent says not sampled. */
  tracing?: 'sampled' | 'unsampled';
  /** No sidecar: raw amqplib calls the runtime itself (raw-runtime-hop.mjs). */
  rawCall?: true;
}

const allCases: Case[] = [
  { name: 'raw amqplib', concurrency: 1 },
  { name: 'raw amqplib + node runtime', concurrency: 1, runtime: { kind: 'node' }, rawCall: true },
  { name: 'raw amqplib + python runtime', concurrency: 1, runtime: { kind: 'python' }, rawCall: true },
  { name: 'sidecar + node runtime', concurrency: 1, runtime: { kind: 'node' } },
  { name: 'sidecar + node runtime, tracing on', concurrency: 1, runtime: { kind: 'node' }, tracing: 'sampled' },
  { name: 'sidecar + node runtime, tracing on, caller unsampled', concurrency: 1, runtime: { kind: 'node' }, tracing: 'unsampled' },
  { name: 'sidecar + python runtime', concurrency: 1, runtime: { kind: 'python' } },
  { name: 'raw amqplib', concurrency: 8 },
  { name: 'raw amqplib + node runtime', concurrency: 8, runtime: { kind: 'node' }, rawCall: true },
  { name: 'raw amqplib + python runtime (4 workers)', concurrency: 8, runtime: { kind: 'python', workers: 4 }, rawCall: true },
  { name: 'sidecar + node runtime', concurrency: 8, runtime: { kind: 'node' } },
  { name: 'sidecar + node runtime, tracing on', concurrency: 8, runtime: { kind: 'node' }, tracing: 'sampled' },
  { name: 'sidecar + node runtime, tracing on, caller unsampled', concurrency: 8, runtime: { kind: 'node' }, tracing: 'unsampled' },
  { name: 'sidecar + python runtime (4 workers)', concurrency: 8, runtime: { kind: 'python', workers: 4 } },
];

// Optional third argument: only run cases whose name contains it (the raw baselines always run).
const only = process.argv[4];
const cases = allCases.filter((c) => !only || !c.runtime || c.rawCall || c.name.includes(only));

const receiver = await countingOtlpReceiver();
const OTLP_URL = receiver.url;

// Without Nagle's algorithm, as the transport connects: a held-back publish or ack would add up to 40 ms to what is measured.
const connection = await amqp.connect(URL, { noDelay: true });
const channel = await connection.createConfirmChannel();
await channel.assertExchange('asya', 'topic', { durable: true });

/** A traceparent whose flags say the caller's trace is not sampled (a new trace each time, as callers would send). */
const unsampledHeaders = () => ({ traceparent: `00-${randomUUID().replaceAll('-', '')}-${randomUUID().replaceAll('-', '').slice(0, 16)}-00` });

function publish(actor: string, next: string, sentAt: number, c: Case): Promise<void> {
  const headers = c.tracing === 'unsampled' ? { headers: unsampledHeaders() } : {};
  const body = Buffer.from(JSON.stringify({ id: randomUUID(), route: { actors: [actor, next], current: 0 }, ...headers, payload: { sent_at: sentAt, pad: PAD } }));
  return new Promise((resolve, reject) =>
    channel.publish('asya', actor, body, { persistent: true, contentType: 'application/json' }, (err) => (err ? reject(err) : resolve())),
  );
}

/** Collects arrival times on the output queue; the payload carries its publish time. */
async function collector(queue: string) {
  const ch = await connection.createChannel();
  await ch.prefetch(500);
  const arrivals: Array<{ at: number; latency: number }> = [];
  const { consumerTag } = await ch.consume(queue, (msg) => {
    if (!msg) return;
    const now = performance.timeOrigin + performance.now();
    const envelope = JSON.parse(msg.content.toString('utf8'));
    arrivals.push({ at: now, latency: now - envelope.payload.sent_at });
    ch.ack(msg);
  });
  return {
    arrivals,
    async until(count: number, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      while (arrivals.length < count) {
        if (Date.now() > deadline) throw new Error(`only ${arrivals.length} of ${count} arrived`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      await ch.cancel(consumerTag);
      await ch.close();
    },
  };
}

async function startHop(c: Case, actor: string, next: string): Promise<{ pid: number; pids: number[]; stop(): Promise<void> }> {
  let runtime: RuntimeProcess | undefined;
  if (c.runtime) {
    const env: Record<string, string> = c.runtime.workers ? { ASYA_RUNTIME_WORKERS: String(c.runtime.workers) } : {};
    runtime = await startRuntime(c.runtime.kind, { handler: fixtureHandler(c.runtime.kind, 'echo'), env: { ...env, ASYA_LOG_LEVEL: 'INFO' } });
  }
  let child: ChildProcess;
  if (!runtime) {
    child = spawn(process.execPath, [...baselineNodeArgs(), join(import.meta.dirname, 'raw-forwarder.mjs'), URL, `asya-${actor}`, next, String(c.concurrency), String(prefetchFor(c.concurrency))], { stdio: ['ignore', 'pipe', 'pipe'] });
    await waitForLine(child, 'consuming');
  } else if (c.rawCall) {
    const args = [URL, `asya-${actor}`, join(runtime.dir, SOCKET_NAME), String(KEEP_ALIVE_BIT), String(c.concurrency), String(prefetchFor(c.concurrency))];
    child = spawn(process.execPath, [...baselineNodeArgs(), join(import.meta.dirname, 'raw-runtime-hop.mjs'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    await waitForLine(child, 'consuming');
  } else {
    child = spawn(process.execPath, [...sidecarNodeArgs(), ENTRY, 'sidecar'], {
      env: {
        ...process.env,
        ASYA_TRANSPORT: 'rabbitmq',
        ASYA_RABBITMQ_URL: URL,
        ASYA_ACTOR_NAME: actor,
        ASYA_SOCKET_DIR: runtime.dir,
        ASYA_CONCURRENCY: String(c.concurrency),
        ASYA_METRICS_ENABLED: 'false',
        ASYA_QUEUE_AUTO_CREATE: 'false',
        ASYA_LOG_LEVEL: 'INFO',
        ...(c.tracing ? { OTEL_EXPORTER_OTLP_ENDPOINT: OTLP_URL } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await waitForLine(child, 'Consuming');
  }
  return {
    pid: child.pid!,
    pids: [child.pid!, ...(runtime?.child.pid ? [runtime.child.pid] : [])],
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      await runtime?.stop();
    },
  };
}

async function runCase(c: Case) {
  const actor = `benchhop-${randomUUID().slice(0, 6)}`;
  const next = `${actor}-out`;
  await freshActorQueue(channel, actor);
  const output = await freshActorQueue(channel, next);
  const sink = await collector(output);
  const hop = await startHop(c, actor, next);
  const spansBefore = await receiver.spans();
  let rss = 0;
  const sampler = setInterval(() => (rss = Math.max(rss, rssMiB(hop.pid))), 100);

  // Throughput: a burst of N, measured at the output from first to last arrival.
  const cpuBefore = hop.pids.map(cpuMs);
  const burst = [];
  for (let i = 0; i < N; i++) burst.push(publish(actor, next, 0, c));
  await Promise.all(burst);
  await sink.until(N);
  const times = sink.arrivals.map((a) => a.at);
  const throughput = (N - 1) / ((Math.max(...times) - Math.min(...times)) / 1000);
  const cpuPerMessage = hop.pids.map((pid, i) => (cpuMs(pid) - cpuBefore[i]!) / N);

  // Latency at a steady 100 msg/s.
  sink.arrivals.length = 0;
  const total = STEADY_SECONDS * 100;
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + i * 10;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await publish(actor, next, performance.timeOrigin + performance.now(), c);
  }
  await sink.until(total);
  const latencies = sink.arrivals.map((a) => a.latency).sort((a, b) => a - b);
  clearInterval(sampler);
  await hop.stop();
  // The sidecar exports what is left when it stops: every hop's three spans (process, runtime, send).
  const spans = (await receiver.spans()) - spansBefore;
  await sink.close();
  await channel.deleteQueue(`asya-${actor}`);
  await channel.deleteQueue(output);
  return { throughput, p50: percentile(latencies, 50), p99: percentile(latencies, 99), rss, cpuPerMessage, spans };
}

const results: Array<{ c: Case; r: Awaited<ReturnType<typeof runCase>> }> = [];
for (const c of cases) {
  process.stderr.write(`${c.name}, concurrency ${c.concurrency} ...\n`);
  results.push({ c, r: await runCase(c) });
}
/** The raw hop that calls the same runtime as `c` (same kind, workers and concurrency), for a sidecar's case. */
const rawCallFor = (c: Case) =>
  results.find((x) => x.c.rawCall && x.c.concurrency === c.concurrency && x.c.runtime?.kind === c.runtime?.kind && x.c.runtime?.workers === c.runtime?.workers)?.r;
const percent = (part: number, whole: number) => `${((part / whole) * 100).toFixed(0)}%`;
const rows = results.map(({ c, r }) => {
  const base = results.find((x) => !x.c.runtime && x.c.concurrency === c.concurrency)!.r;
  const rawCall = c.rawCall ? undefined : rawCallFor(c);
  return {
    case: c.name,
    concurrency: c.concurrency,
    'msg/s': Math.round(r.throughput),
    'vs raw': percent(r.throughput, base.throughput),
    'vs raw + runtime': rawCall ? percent(r.throughput, rawCall.throughput) : '',
    'hop CPU vs raw, vs raw + runtime': c.runtime && !c.rawCall
      ? `${(r.cpuPerMessage[0]! / base.cpuPerMessage[0]!).toFixed(1)}×, ${rawCall ? `${(r.cpuPerMessage[0]! / rawCall.cpuPerMessage[0]!).toFixed(1)}×` : ''}`
      : '',
    'p50 ms': r.p50,
    'p99 ms': r.p99,
    'added p50 ms': c.runtime ? r.p50 - base.p50 : 0,
    'added p99 ms': c.runtime ? r.p99 - base.p99 : 0,
    'RSS MiB': r.rss,
    'CPU ms/msg (hop, runtime)': r.cpuPerMessage.map((v) => v.toFixed(3)).join(', '),
    'spans exported': c.tracing ? `${r.spans} of ${c.tracing === 'sampled' ? 3 * (N + STEADY_SECONDS * 100) : 0}` : '',
  };
});
// Tracing's cost: the traced case against the same case untraced, in this run.
for (const { c, r } of results.filter((x) => x.c.tracing)) {
  const plain = results.find((x) => !x.c.tracing && x.c.runtime?.kind === c.runtime?.kind && x.c.concurrency === c.concurrency && x.c.name === c.name.replace(/, tracing on.*$/, ''));
  if (!plain) continue;
  const cpu = (r.cpuPerMessage[0]! / plain.r.cpuPerMessage[0]! - 1) * 100;
  process.stdout.write(
    `tracing on${c.tracing === 'unsampled' ? ', caller unsampled' : ''}, concurrency ${c.concurrency}: sidecar CPU per hop ${plain.r.cpuPerMessage[0]!.toFixed(3)} → ${r.cpuPerMessage[0]!.toFixed(3)} ms (${cpu >= 0 ? '+' : ''}${cpu.toFixed(0)}%), ` +
      `throughput ${((r.throughput / plain.r.throughput) * 100).toFixed(0)}% of untraced, p50 ${plain.r.p50.toFixed(2)} → ${r.p50.toFixed(2)} ms\n`,
  );
}
printTable(`One RabbitMQ hop (sidecar from ${ENTRY.replace(REPO_ROOT + '/', '')}), 1 KiB persistent messages with confirms (${N} for throughput, ${STEADY_SECONDS}s at 100 msg/s for latency)`, rows);
await channel.close();
await connection.close();
receiver.close();
