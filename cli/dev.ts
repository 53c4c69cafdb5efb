/**
 * `asya dev <dir>`: the whole pipeline in one process. Reads the AsyncActor manifests under <dir>, runs each
 * actor's runtime as a child process (python3 or node, chosen by the handler spec) behind an in-process
 * sidecar, the crew (happy-end, error-end) and the gateway (MCP, REST, SSE) with its embedded store, all on
 * the in-memory transport. With --demo it makes the tool calls listed in <dir>/demo.yaml through the
 * gateway, waits for each envelope's final status, prints it, and exits.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { parseAsyncActor, runtimeEnv, type AsyncActor } from '../api/index.ts';
import { startGateway } from '../gateway/server.ts';
import { createLogger, parseLogLevel, type Logger } from '../protocol/index.ts';
import { loadSidecarConfig } from '../sidecar/config.ts';
import { startSidecar, type RunningSidecar } from '../sidecar/sidecar.ts';
import { childProcessSupervisor, type SpawnedRuntime } from '../sidecar/supervisor.ts';
import { MemoryTransport } from '../transport/memory.ts';
import { CREW_ROLES, startCrew } from './crew.ts';
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

export async function startDevPipeline(dir: string, transport: Transport, log: Logger, options: { gatewayUrl?: string } = {}): Promise<DevPipeline> {
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
          ...(options.gatewayUrl ? { ASYA_GATEWAY_URL: options.gatewayUrl } : {}),
          ...(actor.spec.retry ? { ASYA_RETRY_POLICY: JSON.stringify(actor.spec.retry) } : {}),
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
        sidecars.push(await startSidecar({ config, transport, supervisor: runtime, log, queue: { autoCreate: true, maxDeliveries: 5 } }));
        log.info(`actor ${name} is up (${runtimeCommandFor(actor)[0]?.includes('python') ? 'python' : 'node'} runtime)`);
      }),
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { transport, actors, stop };
}

interface DemoCall {
  tool: string;
  arguments?: Record<string, unknown>;
}

interface EnvelopeView {
  status: string;
  result?: unknown;
  error?: string;
  progress_percent?: number;
  message?: string;
}

export async function runDev(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      demo: { type: 'boolean', default: false },
      port: { type: 'string' },
      'data-dir': { type: 'string' },
    },
  });
  const dir = resolve(positionals[0] ?? '.');
  if (!existsSync(dir)) throw new Error(`No such directory: ${dir}`);
  const log = createLogger('INFO', 'asya.dev');
  const quiet = createLogger(parseLogLevel(process.env.ASYA_LOG_LEVEL ?? 'WARNING'), 'asya.dev');
  const transport = new MemoryTransport({ logger: quiet });
  const toolsFile = join(dir, 'tools.yaml');
  // The demo keeps its state in memory; a dev session keeps it under .asya/ so it survives a restart.
  const dataDir = values['data-dir'] ?? (values.demo ? undefined : join(process.cwd(), '.asya', 'gateway'));
  const resultsDir = join(values.demo ? mkdtempSync(join(tmpdir(), 'asya-results-')) : join(process.cwd(), '.asya'), 'results');
  log.info(`starting the gateway${existsSync(toolsFile) ? ` with ${toolsFile}` : ''} (embedded store${dataDir ? ` in ${dataDir}` : ', in memory'})`);
  const gateway = await startGateway({
    transport,
    log: quiet,
    env: { ...process.env, ASYA_TRANSPORT: 'memory' },
    config: {
      host: '127.0.0.1',
      port: values.port ? Number(values.port) : values.demo ? 0 : 8089,
      ...(existsSync(toolsFile) ? { configPath: toolsFile } : {}),
      ...(dataDir ? { dataDir } : {}),
    },
  });
  const crewEnv = {
    ...process.env,
    ASYA_GATEWAY_URL: gateway.url,
    ASYA_RESULTS_DIR: resultsDir,
    ASYA_METRICS_ENABLED: 'false',
    ASYA_LOG_LEVEL: process.env.ASYA_LOG_LEVEL ?? 'WARNING',
  };
  log.info(`starting the actors under ${dir}`);
  const pipeline = await startDevPipeline(dir, transport, quiet, { gatewayUrl: gateway.url });
  const crews = await Promise.all(CREW_ROLES.map((role) => startCrew(role, { transport, env: crewEnv, log: quiet })));
  const shutdown = async () => {
    await pipeline.stop();
    await Promise.all(crews.map((c) => c.stop()));
    await gateway.stop();
    await transport.close();
  };
  log.info(`gateway on ${gateway.url} (MCP at ${gateway.url}/mcp); results stored in ${resultsDir}`);
  if (!values.demo) {
    log.info('pipeline running on the in-memory transport; Ctrl-C to stop');
    process.once('SIGINT', () => void shutdown().then(() => process.exit(0)));
    process.once('SIGTERM', () => void shutdown().then(() => process.exit(0)));
    return;
  }
  await waitForReady(gateway.url, 60_000);
  const calls = YAML.parse(readFileSync(join(dir, 'demo.yaml'), 'utf8')) as DemoCall[];
  const ids: string[] = [];
  for (const call of calls) {
    const id = await callTool(gateway.url, call);
    ids.push(id);
    process.stdout.write(`→ ${call.tool}(${JSON.stringify(call.arguments ?? {})}) → envelope ${id}\n`);
  }
  let allFinal = true;
  for (const id of ids) {
    const view = await waitForFinal(gateway.url, id, 60_000);
    if (view.status === 'succeeded') process.stdout.write(`✓ ${id} succeeded:\n${JSON.stringify(view.result, null, 2)}\n`);
    else if (view.status === 'failed') process.stdout.write(`✗ ${id} failed: ${view.message ?? view.error}\n`);
    else {
      allFinal = false;
      process.stdout.write(`… ${id} still ${view.status} after 60 s (${view.progress_percent ?? 0}%: ${view.message ?? ''})\n`);
    }
  }
  process.stdout.write(`stored results and errors: ${resultsDir}\n`);
  await shutdown();
  process.exit(allFinal ? 0 : 1);
}

async function callTool(gatewayUrl: string, call: DemoCall): Promise<string> {
  const res = await fetch(`${gatewayUrl}/tools/call`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: call.tool, arguments: call.arguments ?? {} }),
  });
  const body = (await res.json()) as { content?: Array<{ text?: string }>; isError?: boolean; error?: string };
  const text = body.content?.[0]?.text ?? '';
  if (!res.ok || body.isError) throw new Error(`tool ${call.tool} was refused (${res.status}): ${text || body.error || JSON.stringify(body)}`);
  return (JSON.parse(text) as { envelope_id: string }).envelope_id;
}

/** The embedded database takes a few seconds to boot; /ready says when the gateway can take calls. */
async function waitForReady(gatewayUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await fetch(`${gatewayUrl}/ready`)).status !== 200) {
    if (Date.now() > deadline) throw new Error(`the gateway at ${gatewayUrl} was not ready after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function waitForFinal(gatewayUrl: string, id: string, timeoutMs: number): Promise<EnvelopeView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = (await (await fetch(`${gatewayUrl}/envelopes/${encodeURIComponent(id)}`)).json()) as EnvelopeView;
    if (view.status === 'succeeded' || view.status === 'failed' || Date.now() > deadline) return view;
    await new Promise((r) => setTimeout(r, 100));
  }
}
