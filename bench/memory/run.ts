/**
 * bench/memory: peak resident memory (VmHWM) of Asya's processes as the images run them (issue 16, goal 4),
 * each under work, beside raw baselines measured in the same run:
 * - the sidecar (the sidecar image's bundle, concurrency 8, default settings, RabbitMQ, the Node runtime's
 *   echo behind it) forwarding `hop` 1 KiB messages; baseline: raw amqplib consume → publish → ack (prefetch 8);
 * - a crew process (`asya crew happy-end` from the sidecar image's bundle, its default concurrency, results
 *   stored in a directory, finals posted to a stand-in gateway) finishing `crew` envelopes; its runtime child too;
 * - the gateway on PostgreSQL (the full image's bundle) answering `calls` REST tools/calls at concurrency 8;
 * - the embedded gateway (PGlite) idle: in memory, on a new data directory and on that directory reopened,
 *   10 s after /ready;
 * - baseline: an idle `node` process.
 * Goals: sidecar ≤ 60 MiB, crew process ≤ 80 MiB, gateway on PostgreSQL ≤ 150 MiB, embedded gateway idle ≤ 250 MiB.
 * Reported, never asserted. ASYA_BENCH_ROOT=<checkout with `make build` done> measures another build.
 *
 *   npx tsx bench/memory/run.ts [hop-messages] [crew-envelopes] [gateway-calls]   (defaults 5000 2000 3000)
 *   ASYA_BENCH_MEMORY_PARTS=hop,crew,gateway,embedded (the default: all) measures only the parts named.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp, { type ConfirmChannel } from 'amqplib';
import { createTestSchema } from '../../test/support/postgres.ts';
import { startFakeGateway } from '../../test/support/fake-gateway.ts';
import { childrenOf } from '../../test/support/process-tree.ts';
import { fixtureHandler, REPO_ROOT, startRuntime } from '../../test/support/runtime-process.ts';
import { BenchClient } from '../gateway/http-client.ts';
import { baselineNodeArgs, BUNDLE_ROOT, bundleEntry, IMAGE_NODE_ARGS, sidecarNodeArgs, startGatewayProcess, waitForLine } from '../processes.ts';
import { freshActorQueue, peakRssMiB, printTable, rssMiB } from '../support.ts';
import { deadLetterQueueOf } from '../../transport/transport.ts';
import { queueName } from '../../protocol/queues.ts';

const HOP_MESSAGES = Number(process.argv[2] ?? 5000);
const CREW_ENVELOPES = Number(process.argv[3] ?? 2000);
const GATEWAY_CALLS = Number(process.argv[4] ?? 3000);
const ALL_PARTS = ['hop', 'crew', 'gateway', 'embedded'] as const;
// ASYA_BENCH_MEMORY_PARTS=hop,crew measures only those (bench/memory/without-libraries.ts measures the hop alone).
const PARTS = new Set((process.env.ASYA_BENCH_MEMORY_PARTS ?? ALL_PARTS.join(',')).split(',').map((p) => p.trim()));
for (const part of PARTS) if (!(ALL_PARTS as readonly string[]).includes(part)) throw new Error(`ASYA_BENCH_MEMORY_PARTS: unknown part "${part}" (known: ${ALL_PARTS.join(', ')})`);
const URL = process.env.ASYA_BENCH_RABBITMQ_URL ?? process.env.ASYA_TEST_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const IDLE_SETTLE_MS = 10_000;
const payload = 'x'.repeat(1024);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Row {
  process: string;
  work: string;
  'RSS at rest MiB': string;
  'peak RSS MiB': string;
  goal: string;
}
const rows: Row[] = [];
const mib = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : '–');
function record(process: string, work: string, atRest: number, peak: number, goalMiB?: number): void {
  const goal = goalMiB === undefined ? '' : `≤ ${goalMiB} MiB: ${peak <= goalMiB ? 'met' : 'not met'}`;
  rows.push({ process, work, 'RSS at rest MiB': mib(atRest), 'peak RSS MiB': mib(peak), goal });
  console.error(`  ${process}: ${mib(atRest)} MiB at rest, ${mib(peak)} MiB peak`);
}

function spawnBundle(args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** Publishes `count` messages (with confirms, in batches) and waits until `done()` reaches `count`. */
async function pump(channel: ConfirmChannel, queue: string, count: number, body: (i: number) => Buffer, done: () => number): Promise<void> {
  for (let i = 0; i < count; i += 500) {
    for (let j = i; j < Math.min(count, i + 500); j++) channel.sendToQueue(queue, body(j), { persistent: true, contentType: 'application/json' });
    await channel.waitForConfirms();
  }
  const deadline = Date.now() + 600_000;
  while (done() < count) {
    if (Date.now() > deadline) throw new Error(`${queue}: ${done()} of ${count} done after 10 minutes`);
    await sleep(50);
  }
}

const loadBefore = loadavg();
// Without Nagle's algorithm, as the transport connects: a held-back publish or ack would add up to 40 ms to what is measured.
const connection = await amqp.connect(URL, { noDelay: true });
const channel = await connection.createConfirmChannel();
const queues: string[] = [];
const cleanups: Array<() => Promise<unknown> | void> = [];

try {
  // --- baseline: node doing nothing ---
  const idle = spawnBundle(['-e', 'setInterval(() => {}, 1000); process.stdout.write("up\\n")'], {});
  await waitForLine(idle, 'up');
  await sleep(1000);
  record('node, idle (baseline)', 'nothing', rssMiB(idle.pid!), peakRssMiB(idle.pid!));
  await stop(idle);

  // Both gateways (on PostgreSQL and embedded) run the full image's bundle with one tool, routed to gatewayTarget.
  if (PARTS.has('gateway') || PARTS.has('embedded')) process.env.ASYA_BENCH_GATEWAY_BUNDLE = bundleEntry('dist/asya.js');
  process.env.ASYA_BENCH_GATEWAY_NODE_ARGS ??= IMAGE_NODE_ARGS.join(' ');
  const gatewayTarget = `mem-gw-${randomUUID().slice(0, 8)}`;
  const config = mkdtempSync(join(tmpdir(), 'asya-bench-mem-gw-'));
  cleanups.push(() => rmSync(config, { recursive: true, force: true }));
  writeFileSync(join(config, 'tools.yaml'), `tools:\n- name: bench\n  parameters: {text: {type: string, required: true}}\n  route: [${gatewayTarget}]\n  timeout: 600\n`);
  const gatewayEnv = { ASYA_CONFIG_PATH: join(config, 'tools.yaml'), ASYA_TRANSPORT: 'rabbitmq', ASYA_RABBITMQ_URL: URL, ASYA_GATEWAY_AUTH: 'none' };

  if (PARTS.has('hop')) {
    // --- one hop: raw amqplib, then the sidecar, on the same queues and messages ---
    const actor = `mem-${randomUUID().slice(0, 8)}`;
    const sink = `${actor}-sink`;
    const input = await freshActorQueue(channel, actor);
    const output = await freshActorQueue(channel, sink);
    queues.push(input, output, deadLetterQueueOf(input));
    let arrived = 0;
    await channel.consume(output, (msg) => {
      if (!msg) return;
      arrived++;
      channel.ack(msg);
    });
    const hopBody = (i: number) => Buffer.from(JSON.stringify({ id: randomUUID(), route: { actors: [actor, sink], current: 0 }, payload: { i, payload } }));

    process.stderr.write(`raw amqplib forwarder: ${HOP_MESSAGES} messages\n`);
    const raw = spawnBundle([...baselineNodeArgs(), join(REPO_ROOT, 'bench/hop/raw-forwarder.mjs'), URL, input, sink, '8'], {});
    await waitForLine(raw, 'consuming');
    const rawRest = rssMiB(raw.pid!);
    arrived = 0;
    await pump(channel, input, HOP_MESSAGES, hopBody, () => arrived);
    record('raw amqplib forwarder (baseline)', `${HOP_MESSAGES} × 1 KiB, prefetch 8`, rawRest, peakRssMiB(raw.pid!));
    await stop(raw);

    process.stderr.write(`sidecar, concurrency 8: ${HOP_MESSAGES} messages\n`);
    const runtime = await startRuntime('node', { handler: fixtureHandler('node', 'echo') });
    cleanups.push(() => runtime.stop());
    const sidecar = spawnBundle([...sidecarNodeArgs(), bundleEntry('dist/sidecar/dist/asya.js'), 'sidecar'], {
      ASYA_TRANSPORT: 'rabbitmq',
      ASYA_RABBITMQ_URL: URL,
      ASYA_ACTOR_NAME: actor,
      ASYA_SOCKET_DIR: runtime.dir,
      ASYA_CONCURRENCY: '8',
      ASYA_QUEUE_AUTO_CREATE: 'false', // the queue above, declared as the hop bench declares it
      ASYA_METRICS_ADDR: '127.0.0.1:0',
      ASYA_LOG_LEVEL: 'INFO',
    });
    await waitForLine(sidecar, 'Consuming');
    await sleep(1000);
    const sidecarRest = rssMiB(sidecar.pid!);
    arrived = 0;
    await pump(channel, input, HOP_MESSAGES, hopBody, () => arrived);
    record('sidecar (sidecar image bundle)', `${HOP_MESSAGES} × 1 KiB, concurrency 8`, sidecarRest, peakRssMiB(sidecar.pid!), 60);
    await stop(sidecar);
  }

  if (PARTS.has('crew')) {
    // --- a crew process: happy-end with its runtime child ---
    process.stderr.write(`crew happy-end: ${CREW_ENVELOPES} envelopes\n`);
    const gateway = await startFakeGateway();
    cleanups.push(() => gateway.close());
    const results = mkdtempSync(join(tmpdir(), 'asya-bench-mem-results-'));
    cleanups.push(() => rmSync(results, { recursive: true, force: true }));
    const happyEnd = `mem-happy-${randomUUID().slice(0, 8)}`;
    queues.push(queueName(happyEnd), deadLetterQueueOf(queueName(happyEnd)));
    const crew = spawnBundle([...sidecarNodeArgs(), bundleEntry('dist/sidecar/dist/asya.js'), 'crew', 'happy-end'], {
      ASYA_TRANSPORT: 'rabbitmq',
      ASYA_RABBITMQ_URL: URL,
      ASYA_ACTOR_HAPPY_END: happyEnd,
      ASYA_GATEWAY_URL: gateway.url,
      ASYA_RESULTS_DIR: results,
      ASYA_METRICS_ADDR: '127.0.0.1:0',
      ASYA_LOG_LEVEL: 'INFO',
    });
    await waitForLine(crew, `Consuming asya-${happyEnd}`);
    await sleep(1000);
    const crewRuntime = childrenOf(crew.pid!)[0];
    const [crewRest, crewRuntimeRest] = [rssMiB(crew.pid!), crewRuntime ? rssMiB(crewRuntime) : Number.NaN];
    const finals = () => gateway.requests.filter((r) => r.path.endsWith('/final')).length;
    await pump(channel, `asya-${happyEnd}`, CREW_ENVELOPES, (i) => Buffer.from(JSON.stringify({ id: randomUUID(), route: { actors: ['prep'], current: 1 }, payload: { i, payload } })), finals);
    record('crew happy-end (sidecar image bundle)', `${CREW_ENVELOPES} envelopes stored and reported`, crewRest, peakRssMiB(crew.pid!), 80);
    if (crewRuntime) record('  its runtime child', 'the crew handler', crewRuntimeRest, peakRssMiB(crewRuntime));
    await stop(crew);
  }

  if (PARTS.has('gateway')) {
    // --- the gateway on PostgreSQL, under REST tools/calls ---
    process.stderr.write(`gateway on PostgreSQL: ${GATEWAY_CALLS} REST tools/calls at concurrency 8\n`);
    const schema = await createTestSchema('asya_bench_mem');
    cleanups.push(() => schema.drop());
    await freshActorQueue(channel, gatewayTarget);
    queues.push(`asya-${gatewayTarget}`);
    const pg = await startGatewayProcess({ ...gatewayEnv, ASYA_DATABASE_URL: schema.url, ASYA_DATABASE_SCHEMA: schema.name });
    cleanups.push(() => pg.stop());
    await sleep(1000);
    const pgRest = rssMiB(pg.pid);
    const client = new BenchClient(pg.url, 16);
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < GATEWAY_CALLS) {
          const i = next++;
          const res = await client.request('POST', '/tools/call', JSON.stringify({ name: 'bench', arguments: { text: `call ${i} ${payload}` } }), { 'content-type': 'application/json' });
          if (res.status !== 200) throw new Error(`tools/call answered ${res.status}: ${res.text}`);
        }
      }),
    );
    record('gateway on PostgreSQL (full image bundle)', `${GATEWAY_CALLS} REST tools/calls, concurrency 8`, pgRest, peakRssMiB(pg.pid), 150);
    await pg.stop();
  }

  if (PARTS.has('embedded')) {
    // --- the embedded gateway, idle ---
    const dataDir = join(mkdtempSync(join(tmpdir(), 'asya-bench-mem-pglite-')), 'data');
    cleanups.push(() => rmSync(join(dataDir, '..'), { recursive: true, force: true }));
    for (const [what, env] of [
      ['in memory (asya dev --demo)', {}],
      ['a new data directory (first start)', { ASYA_GATEWAY_DATA_DIR: dataDir }],
      ['that data directory reopened', { ASYA_GATEWAY_DATA_DIR: dataDir }],
    ] as const) {
      process.stderr.write(`embedded gateway, ${what}\n`);
      const embedded = await startGatewayProcess({ ...gatewayEnv, ...env });
      await sleep(IDLE_SETTLE_MS);
      record('embedded gateway (PGlite), idle', `${what}, ${IDLE_SETTLE_MS / 1000} s after /ready`, rssMiB(embedded.pid), peakRssMiB(embedded.pid), 250);
      await embedded.stop();
    }
  }

  const loadAfter = loadavg();
  // The title stays the same from run to run, so that bench/all.ts folds the runs' tables into one.
  printTable(`bench/memory: peak RSS (VmHWM) under work (${BUNDLE_ROOT === REPO_ROOT ? 'this checkout' : BUNDLE_ROOT}; node ${process.version})`, rows as unknown as Array<Record<string, string>>);
  console.log(`load average ${loadBefore[0]!.toFixed(1)} before, ${loadAfter[0]!.toFixed(1)} after`);
} finally {
  for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => {});
  for (const queue of queues) await channel.deleteQueue(queue).catch(() => {});
  await connection.close().catch(() => {});
}
