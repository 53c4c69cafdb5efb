/**
 * bench/cold-start: what scale-from-zero costs, from a process's start to its first message, each beside a
 * raw baseline started the same way, alternately, in the same run (issue 16, goal 6):
 * - the sidecar (the sidecar image's bundle, `node --max-semi-space-size=2`, default settings, RabbitMQ) from
 *   spawn to the first envelope arriving on the runtime socket, with a message waiting in its queue and the
 *   runtime already up; baseline: amqplib connecting, consuming and writing the message to the socket;
 * - the Python runtime, from spawn to its first answer on the socket; baseline: a framed echo in Python;
 * - the Node runtime with a TypeScript handler (the full image's bundle), the same; baseline: a framed echo
 *   in Node.
 * Each with the CPU time the process used until then, steadier than wall time on a loaded machine.
 * Goals: sidecar ≤ 300 ms, Python runtime ≤ 200 ms, Node runtime ≤ 400 ms. Reported, never asserted.
 * ASYA_BENCH_ROOT=<checkout with `make build` done> measures another build (the "before" of docs/performance.md).
 *
 *   npx tsx bench/cold-start/run.ts [starts]     (default 7 starts per case, median reported)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { fixtureHandler, REPO_ROOT, runtimeCommand } from '../../test/support/runtime-process.ts';
import { call } from '../../test/support/socket-client.ts';
import { BUNDLE_ROOT, bundleEntry, IMAGE_NODE_ARGS, waitForLine } from '../processes.ts';
import { cpuMs, median, printTable } from '../support.ts';
import { deadLetterQueueOf } from '../../transport/transport.ts';

const STARTS = Number(process.argv[2] ?? 7);
const URL = process.env.ASYA_BENCH_RABBITMQ_URL ?? process.env.ASYA_TEST_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const GIVE_UP_MS = 30_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function exitOf(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

function spawnTimed(command: string[], env: Record<string, string>): { child: ChildProcess; startedAt: number; output: () => string } {
  const [cmd, ...args] = command;
  const startedAt = performance.now();
  const child = spawn(cmd!, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  for (const stream of [child.stdout!, child.stderr!]) stream.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
  return { child, startedAt, output: () => output };
}

/** Wall ms from spawn to the first message, and the CPU ms the process used until then (steadier under load). */
interface Start {
  wall: number;
  cpu: number;
}

/** Spawn to the first answer on the runtime socket, then the process is killed. */
async function runtimeStart(command: string[], env: Record<string, string>): Promise<Start> {
  const dir = mkdtempSync(join(tmpdir(), 'asya-cold-rt-'));
  const socketPath = join(dir, 'asya-runtime.sock');
  const request = { id: 'cold', route: { actors: ['cold'], current: 0 }, payload: { n: 1 } };
  // A fresh temporary directory too, as a new container has: tsx keeps its compile cache there, and a warm
  // one would hide what compiling a TypeScript handler costs a real cold start.
  const { child, startedAt, output } = spawnTimed(command, { ...env, ASYA_SOCKET_DIR: dir, TMPDIR: dir });
  try {
    while (performance.now() - startedAt < GIVE_UP_MS) {
      if (child.exitCode !== null) throw new Error(`${command.join(' ')} exited with ${child.exitCode}:\n${output()}`);
      const answered = await call(socketPath, request).then(
        () => true,
        () => false,
      );
      if (answered) return { wall: performance.now() - startedAt, cpu: cpuMs(child.pid!) };
      await sleep(2);
    }
    throw new Error(`${command.join(' ')} did not answer within ${GIVE_UP_MS} ms:\n${output()}`);
  } finally {
    child.kill('SIGKILL');
    await exitOf(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The sidecar's runtime, played by this process: a ready file and a listening socket, and the moment the
 * first frame arrives. It never answers: the consumer is killed then, and the broker requeues the message.
 */
async function fakeRuntime(): Promise<{ dir: string; socketPath: string; nextRequest(): Promise<number>; close(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'asya-cold-sc-'));
  const socketPath = join(dir, 'asya-runtime.sock');
  let arrived: ((at: number) => void) | undefined;
  const server = createServer((socket) => {
    socket.once('data', () => arrived?.(performance.now()));
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(socketPath, r));
  writeFileSync(join(dir, 'runtime-ready'), 'ready');
  return {
    dir,
    socketPath,
    nextRequest: () => new Promise<number>((resolve) => (arrived = resolve)),
    close: () => {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function consumerStart(command: string[], env: Record<string, string>, runtime: Awaited<ReturnType<typeof fakeRuntime>>, publish: () => Promise<void>): Promise<Start> {
  await publish();
  const request = runtime.nextRequest();
  const { child, startedAt, output } = spawnTimed(command, env);
  try {
    const exited = exitOf(child).then(() => {
      throw new Error(`${command.join(' ')} exited with ${child.exitCode} before the first message:\n${output()}`);
    });
    const timeout = sleep(GIVE_UP_MS).then(() => {
      throw new Error(`no message from ${command.join(' ')} within ${GIVE_UP_MS} ms:\n${output()}`);
    });
    const arrivedAt = await Promise.race([request, exited, timeout]);
    return { wall: arrivedAt - startedAt, cpu: cpuMs(child.pid!) };
  } finally {
    child.kill('SIGKILL');
    await exitOf(child);
  }
}

interface Measured {
  name: string;
  goalMs: number;
  ours: () => Promise<Start>;
  baselineName: string;
  baseline: () => Promise<Start>;
}

const loadBefore = loadavg();
// Without Nagle's algorithm, as the transport connects: a held-back publish or ack would add up to 40 ms to what is measured.
const connection = await amqp.connect(URL, { noDelay: true });
const channel = await connection.createConfirmChannel();
const actor = `cold-${randomUUID().slice(0, 8)}`;
const queue = `asya-${actor}`;
const runtime = await fakeRuntime();
const sidecarEntry = bundleEntry('dist/sidecar/dist/asya.js');
const sidecarEnv = {
  ASYA_TRANSPORT: 'rabbitmq',
  ASYA_RABBITMQ_URL: URL,
  ASYA_ACTOR_NAME: actor,
  ASYA_SOCKET_DIR: runtime.dir,
  ASYA_METRICS_ADDR: '127.0.0.1:0',
  ASYA_LOG_LEVEL: 'INFO',
};
/** One message waiting, and only one (a killed consumer's unacked message may come back after the purge). */
const publish = async () => {
  await channel.purgeQueue(queue);
  channel.sendToQueue(queue, Buffer.from(JSON.stringify({ id: randomUUID(), route: { actors: [actor], current: 0 }, payload: { n: 1 } })), { persistent: true, contentType: 'application/json' });
  await channel.waitForConfirms();
};

try {
  // A first start declares the queue (and its DLQ) as the sidecar does by default, and warms the file cache.
  const first = spawnTimed([process.execPath, ...IMAGE_NODE_ARGS, sidecarEntry, 'sidecar'], sidecarEnv);
  await waitForLine(first.child, 'Consuming');
  first.child.kill('SIGKILL');
  await exitOf(first.child);

  const nodeRuntime = [process.execPath, ...IMAGE_NODE_ARGS, bundleEntry('dist/asya.js'), 'runtime'];
  const cases: Measured[] = [
    {
      name: 'sidecar (sidecar image bundle, RabbitMQ)',
      goalMs: 300,
      ours: () => consumerStart([process.execPath, ...IMAGE_NODE_ARGS, sidecarEntry, 'sidecar'], sidecarEnv, runtime, publish),
      baselineName: 'raw amqplib consumer',
      baseline: () => consumerStart([process.execPath, ...IMAGE_NODE_ARGS, join(import.meta.dirname, 'raw-consumer.mjs'), URL, queue, runtime.socketPath], {}, runtime, publish),
    },
    {
      name: 'Python runtime',
      goalMs: 200,
      ours: () => runtimeStart(runtimeCommand('python'), { ASYA_HANDLER: fixtureHandler('python', 'echo'), PYTHONPATH: join(REPO_ROOT, 'runtime/testdata/handlers') }),
      baselineName: 'raw Python socket echo',
      baseline: () => runtimeStart(['python3', join(import.meta.dirname, 'raw-echo.py')], {}),
    },
    {
      name: 'Node runtime, TypeScript handler (full image bundle)',
      goalMs: 400,
      ours: () => runtimeStart(nodeRuntime, { ASYA_HANDLER: fixtureHandler('node', 'echo') }),
      baselineName: 'raw Node socket echo',
      baseline: () => runtimeStart([process.execPath, ...IMAGE_NODE_ARGS, join(REPO_ROOT, 'bench/runtime/raw-echo.mjs')], {}),
    },
  ];

  const rows = [];
  for (const c of cases) {
    process.stderr.write(`${c.name}: ${STARTS} starts, alternating with ${c.baselineName}\n`);
    const ours: Start[] = [];
    const raw: Start[] = [];
    // Alternating, so that the machine's load moves both the same way.
    for (let i = 0; i < STARTS; i++) {
      raw.push(await c.baseline());
      ours.push(await c.ours());
    }
    const [m, b] = [median(ours.map((s) => s.wall)), median(raw.map((s) => s.wall))];
    const [mc, bc] = [median(ours.map((s) => s.cpu)), median(raw.map((s) => s.cpu))];
    rows.push({
      case: c.name,
      'median ms': Math.round(m),
      'min–max ms': `${Math.round(Math.min(...ours.map((s) => s.wall)))}–${Math.round(Math.max(...ours.map((s) => s.wall)))}`,
      'CPU ms': mc,
      baseline: c.baselineName,
      'baseline median ms': Math.round(b),
      'baseline CPU ms': bc,
      'vs baseline': `${(m / b).toFixed(2)}×`,
      'CPU vs baseline': `${(mc / bc).toFixed(2)}×`,
      goal: `≤ ${c.goalMs} ms: ${m <= c.goalMs ? 'met' : 'not met'}`,
    });
  }
  const loadAfter = loadavg();
  // The title stays the same from run to run, so that bench/all.ts folds the runs' tables into one.
  printTable(`bench/cold-start: spawn → first message, median of ${STARTS} starts (${BUNDLE_ROOT === REPO_ROOT ? 'this checkout' : BUNDLE_ROOT}; node ${process.version})`, rows);
  console.log(`load average ${loadBefore[0]!.toFixed(1)} before, ${loadAfter[0]!.toFixed(1)} after`);
} finally {
  await channel.deleteQueue(queue).catch(() => {});
  await channel.deleteQueue(deadLetterQueueOf(queue)).catch(() => {});
  await connection.close().catch(() => {});
  runtime.close();
}
