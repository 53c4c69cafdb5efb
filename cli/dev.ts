/**
 * `asya dev <dir>`: the whole pipeline in one process. Reads the AsyncActor manifests under <dir>, runs each
 * actor's runtime as a child process (python3 or node, chosen by the handler spec) behind an in-process
 * sidecar, all on the in-memory transport. With --demo it sends the envelopes listed in <dir>/demo.yaml,
 * prints where each one ended, and exits.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { parseAsyncActor, runtimeEnv, type AsyncActor } from '../api/index.ts';
import { createLogger, ERROR_END, HAPPY_END, queueName, type Logger } from '../protocol/index.ts';
import { loadSidecarConfig } from '../sidecar/config.ts';
import { startSidecar, type RunningSidecar } from '../sidecar/sidecar.ts';
import { childProcessSupervisor, type SpawnedRuntime } from '../sidecar/supervisor.ts';
import { MemoryTransport } from '../transport/memory.ts';
import type { Transport } from '../transport/transport.ts';

const REPO_ROOT = resolve(import.meta.dirname, '..');

export function findActors(dir: string): AsyncActor[] {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d)) {
      const path = join(d, entry);
      if (statSync(path).isDirectory()) {
        if (entry !== 'node_modules' && !entry.startsWith('.')) walk(path);
      } else if (/\.ya?ml$/.test(entry)) files.push(path);
    }
  };
  walk(dir);
  const actors: AsyncActor[] = [];
  for (const file of files.sort()) {
    for (const doc of YAML.parseAllDocuments(readFileSync(file, 'utf8'))) {
      const value = doc.toJS() as { kind?: string } | null;
      if (value?.kind === 'AsyncActor') actors.push(parseAsyncActor(value, file));
    }
  }
  return actors;
}

/** How dev mode starts an actor's runtime: `file#export` handlers are Node, `module.fn` handlers Python. */
export function runtimeCommandFor(actor: AsyncActor): string[] {
  const handler = runtimeEnv(actor).ASYA_HANDLER ?? '';
  if (handler.includes('#')) return [process.execPath, join(REPO_ROOT, 'bin/asya.js'), 'runtime'];
  return [actor.spec.workload.pythonExecutable, join(REPO_ROOT, 'runtime/python/asya_runtime.py')];
}

export interface DevPipeline {
  readonly transport: Transport;
  readonly actors: AsyncActor[];
  stop(): Promise<void>;
}

export async function startDevPipeline(dir: string, transport: Transport, log: Logger): Promise<DevPipeline> {
  const actors = findActors(dir);
  if (actors.length === 0) throw new Error(`No AsyncActor manifests found under ${dir}`);
  const workdir = mkdtempSync(join(tmpdir(), 'asya-dev-'));
  const runtimes: SpawnedRuntime[] = [];
  const sidecars: RunningSidecar[] = [];
  const stop = async () => {
    await Promise.all(sidecars.map((s) => s.stop()));
    await Promise.all(runtimes.map((r) => r.stop()));
    rmSync(workdir, { recursive: true, force: true });
  };
  try {
    for (const end of [HAPPY_END, ERROR_END]) await transport.ensureQueue(queueName(end), { maxDeliveries: 5 });
    await Promise.all(
      actors.map(async (actor) => {
        const name = actor.metadata.name;
        const socketDir = join(workdir, name);
        const processingSeconds = actor.spec.timeout?.processing ?? 300;
        const config = loadSidecarConfig({
          ASYA_ACTOR_NAME: name,
          ASYA_SOCKET_DIR: socketDir,
          ASYA_RUNTIME_TIMEOUT: `${processingSeconds}s`,
          ASYA_RUNTIME_READY_TIMEOUT: '60s',
          ASYA_METRICS_ENABLED: 'false',
          ASYA_LOG_LEVEL: process.env.ASYA_LOG_LEVEL ?? 'WARNING',
        });
        const runtime = childProcessSupervisor({
          command: runtimeCommandFor(actor),
          env: {
            ...process.env,
            ASYA_LOG_LEVEL: 'WARNING',
            ...runtimeEnv(actor),
            ASYA_SOCKET_DIR: socketDir,
            PYTHONPATH: [join(dir, 'handlers'), dir, process.env.PYTHONPATH].filter(Boolean).join(':'),
          },
          cwd: dir,
          paths: config,
          readyTimeoutMs: 60_000,
          log,
        });
        runtimes.push(runtime);
        await runtime.start();
        sidecars.push(await startSidecar({ config, transport, supervisor: runtime, queue: { autoCreate: true, maxDeliveries: 5 } }));
        log.info(`actor ${name} is up (${runtimeCommandFor(actor)[0]?.includes('python') ? 'python' : 'node'} runtime)`);
      }),
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { transport, actors, stop };
}

interface DemoItem {
  route: string[];
  payload: unknown;
}

export async function runDev(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { demo: { type: 'boolean', default: false } } });
  const dir = resolve(positionals[0] ?? '.');
  if (!existsSync(dir)) throw new Error(`No such directory: ${dir}`);
  const log = createLogger('INFO', 'asya.dev');
  const transport = new MemoryTransport({ logger: log });
  log.info(`starting the actors under ${dir}`);
  const pipeline = await startDevPipeline(dir, transport, log);
  const endings = watchEnds(transport);
  const shutdown = async () => {
    await pipeline.stop();
    await transport.close();
  };
  if (!values.demo) {
    log.info('pipeline running on the in-memory transport; Ctrl-C to stop');
    process.once('SIGINT', () => void shutdown().then(() => process.exit(0)));
    process.once('SIGTERM', () => void shutdown().then(() => process.exit(0)));
    return;
  }
  const demoFile = join(dir, 'demo.yaml');
  const items = YAML.parse(readFileSync(demoFile, 'utf8')) as DemoItem[];
  const ids = items.map(() => randomUUID());
  for (const [i, item] of items.entries()) {
    const envelope = { id: ids[i], route: { actors: item.route, current: 0 }, payload: item.payload };
    await transport.publish(queueName(item.route[0]!), Buffer.from(JSON.stringify(envelope)));
    process.stdout.write(`→ sent ${ids[i]} through ${item.route.join(' → ')}\n`);
  }
  const results = await endings.waitFor(ids, 60_000);
  for (const id of ids) {
    const end = results.get(id);
    if (!end) process.stdout.write(`✗ ${id}: no result within 60 s\n`);
    else process.stdout.write(`${end.queue === queueName(HAPPY_END) ? '✓' : '✗'} ${id} reached ${end.queue}:\n${JSON.stringify(end.envelope.payload, null, 2)}\n`);
  }
  await shutdown();
  process.exit(ids.every((id) => results.has(id)) ? 0 : 1);
}

/** Until the crew runs in dev mode, envelopes that reach happy-end or error-end are collected here. */
function watchEnds(transport: Transport) {
  const seen = new Map<string, { queue: string; envelope: { id: string; payload: unknown } }>();
  const waiters: Array<() => void> = [];
  for (const end of [HAPPY_END, ERROR_END]) {
    void transport.consume(queueName(end), async (delivery) => {
      const envelope = JSON.parse(delivery.body.toString('utf8'));
      seen.set(envelope.id, { queue: delivery.queue, envelope });
      await transport.ack(delivery);
      waiters.splice(0).forEach((w) => w());
    });
  }
  return {
    async waitFor(ids: string[], timeoutMs: number) {
      const deadline = Date.now() + timeoutMs;
      while (!ids.every((id) => seen.has(id)) && Date.now() < deadline) {
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 500);
        });
      }
      return seen;
    },
  };
}
