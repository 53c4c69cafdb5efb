/**
 * Test harness for sidecar pipelines: real runtime processes behind in-process sidecars on a given transport,
 * plus a collector that reads what reaches happy-end and error-end.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCrew, type CrewOptions, type CrewRole, type RunningCrew } from '../../cli/crew.ts';
import { createLogger, ERROR_END, HAPPY_END, queueName, type Logger } from '../../protocol/index.ts';
import { loadSidecarConfig } from '../../sidecar/config.ts';
import { startSidecar, type RunningSidecar } from '../../sidecar/sidecar.ts';
import { childProcessSupervisor, type SpawnedRuntime } from '../../sidecar/supervisor.ts';
import type { Consumer, Transport } from '../../transport/transport.ts';
import { fixtureHandler, REPO_ROOT, runtimeCommand, type RuntimeKind } from './runtime-process.ts';
import { toTestOutput } from './test-output.ts';
import { deleteQueuesWithDeadLetters } from './queues.ts';

export interface Actor {
  readonly name: string;
  readonly socketDir: string;
  readonly runtime: SpawnedRuntime;
  sidecar: RunningSidecar;
  stop(): Promise<void>;
}

export interface ActorOptions {
  kind: RuntimeKind;
  fixture: string;
  runtimeEnv?: Record<string, string>;
  sidecarEnv?: Record<string, string>;
  /** Start the sidecar before the runtime exists (it must wait). */
  runtimeLater?: boolean;
  /** Override the runtime command (e.g. a fake runtime with the original's exact wire bytes). */
  command?: string[];
  /** Where the sidecar and the runtime supervisor log (default: stderr at ERROR). */
  log?: Logger;
}

export async function startActor(transport: Transport, name: string, options: ActorOptions): Promise<Actor> {
  const socketDir = mkdtempSync(join(tmpdir(), `asya-actor-${name}-`));
  const config = loadSidecarConfig({
    ASYA_ACTOR_NAME: name,
    ASYA_SOCKET_DIR: socketDir,
    ASYA_RUNTIME_TIMEOUT: '30s',
    ASYA_RUNTIME_READY_TIMEOUT: '60s',
    ASYA_METRICS_ENABLED: 'false',
    ASYA_LOG_LEVEL: 'ERROR',
    ...options.sidecarEnv,
  });
  const log = options.log ?? createLogger('ERROR', `test.${name}`);
  const runtime = childProcessSupervisor({
    command: options.command ?? runtimeCommand(options.kind),
    env: {
      ...process.env,
      PYTHONPATH: join(REPO_ROOT, 'runtime/testdata/handlers'),
      ASYA_SOCKET_DIR: socketDir,
      ASYA_HANDLER: fixtureHandler(options.kind, options.fixture),
      ASYA_LOG_LEVEL: 'ERROR',
      ...options.runtimeEnv,
    },
    cwd: REPO_ROOT,
    paths: config,
    readyTimeoutMs: 30_000,
    log,
    output: toTestOutput,
  });
  if (!options.runtimeLater) await runtime.start();
  const start = () => startSidecar({ config, transport, supervisor: runtime, log, queue: { autoCreate: true, maxDeliveries: 10 } });
  const actor: Actor = {
    name,
    socketDir,
    runtime,
    sidecar: undefined as unknown as RunningSidecar,
    async stop() {
      await actor.sidecar?.stop();
      await runtime.stop();
      rmSync(socketDir, { recursive: true, force: true });
    },
  };
  if (options.runtimeLater) {
    // The sidecar waits for the runtime before it consumes; hand back control right away.
    void start().then((s) => (actor.sidecar = s));
  } else {
    actor.sidecar = await start();
  }
  return actor;
}

export interface Arrival {
  queue: string;
  envelope: { id: string; parent_id?: string; route: { actors: string[]; current: number }; headers?: Record<string, unknown>; payload: any }; // eslint-disable-line @typescript-eslint/no-explicit-any -- test JSON
}

/**
 * Collects everything that reaches the two end queues (and optionally other queues). On a shared broker,
 * pass `unique` so this file's happy-end and error-end never receive another test file's messages; actors
 * must then be started with `ends.sidecarEnv`.
 */
export async function collectEnds(transport: Transport, extraQueues: string[] = [], unique = false) {
  const arrivals: Arrival[] = [];
  const consumers: Consumer[] = [];
  const suffix = unique ? `-${randomUUID().slice(0, 8)}` : '';
  const happyEnd = `${HAPPY_END}${suffix}`;
  const errorEnd = `${ERROR_END}${suffix}`;
  const queues = [queueName(happyEnd), queueName(errorEnd), ...extraQueues];
  for (const queue of queues) {
    await transport.ensureQueue(queue, { maxDeliveries: 10 });
    consumers.push(
      await transport.consume(queue, async (delivery) => {
        arrivals.push({ queue, envelope: JSON.parse(delivery.body.toString('utf8')) });
        await transport.ack(delivery);
      }),
    );
  }
  const waitFor = async (predicate: (all: Arrival[]) => boolean, timeoutMs = 30_000): Promise<Arrival[]> => {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(arrivals)) {
      if (Date.now() > deadline) throw new Error(`timed out; arrived so far: ${JSON.stringify(arrivals.map((a) => [a.queue, a.envelope.id]))}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return arrivals;
  };
  return {
    arrivals,
    happyQueue: queueName(happyEnd),
    errorQueue: queueName(errorEnd),
    sidecarEnv: { ASYA_ACTOR_HAPPY_END: happyEnd, ASYA_ACTOR_ERROR_END: errorEnd },
    queues,
    waitFor,
    waitForIds: (ids: string[], timeoutMs?: number) => waitFor((all) => ids.every((id) => all.some((a) => a.envelope.id === id)), timeoutMs),
    byId: (id: string) => arrivals.filter((a) => a.envelope.id === id),
    async stop() {
      await Promise.all(consumers.map((c) => c.stop()));
      // The end actors' sidecars give their queues a DLQ too: leave neither behind on a shared broker.
      if (unique) await deleteQueuesWithDeadLetters(transport, queues);
    },
  };
}

export function envelopeBody(id: string, actors: string[], payload: unknown, extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(JSON.stringify({ id, route: { actors, current: 0 }, payload, ...extra }));
}

/** `startCrew` with its runtime's output sent to the test's output instead of the worker's stderr. */
export function startTestCrew(role: CrewRole, options: CrewOptions = {}): Promise<RunningCrew> {
  return startCrew(role, { runtimeOutput: toTestOutput, ...options });
}
