/**
 * The chaos world: every component as the process a cluster would run, on a RabbitMQ node and a PostgreSQL
 * cluster of its own (so the broker and the database may be killed and stopped without touching the shared
 * ones). The gateway (`asya gateway`) publishes each tool call to a two-actor pipeline — a Python handler,
 * then a Node one, each an `asya sidecar` process in front of its runtime process — and the crew
 * (`asya crew happy-end` / `error-end`) reports the finals back to it.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { queueName } from '../../protocol/index.ts';
import { freePort } from '../support/moto.ts';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres.ts';
import { startPrivateRabbitmq, type PrivateRabbitmq } from '../support/private-rabbitmq.ts';
import { fixtureHandler, REPO_ROOT, runtimeCommand, type RuntimeKind } from '../support/runtime-process.ts';
import { startFreezableProxy, type FreezableProxy } from './freezable-proxy.ts';
import { ASYA_BIN, service, type Service } from './service.ts';
import { errorText } from '../../protocol/errors.ts';

export const CLIENT_TOKEN = 'chaos-client-secret';
export const INTERNAL_TOKEN = 'chaos-internal-secret';
export const TOOL = 'chaos';
const SCHEMA = 'chaos';

/** One actor: its runtime and its sidecar, restartable apart, as the two containers of a pod. */
export interface ChaosActor {
  readonly name: string;
  readonly queue: string;
  readonly runtime: Service;
  readonly sidecar: Service;
}

export interface ChaosWorld {
  readonly broker: PrivateRabbitmq;
  readonly db: PrivatePostgres;
  /** A client of the private database, for the tally (reconnects after an outage). */
  readonly sql: postgres.Sql;
  readonly schema: string;
  readonly gatewayUrl: string;
  readonly gateway: Service;
  /** The gateway's way to the broker; frozen, its publishes never leave the gateway's host. */
  readonly gatewayLink: FreezableProxy;
  readonly actors: readonly ChaosActor[];
  readonly happyEnd: Service;
  readonly errorEnd: Service;
  readonly resultsDir: string;
  /** Every component's output tail, for a failure message. */
  outputs(): string;
  stop(): Promise<void>;
}

const quietEnv = { ASYA_METRICS_ENABLED: 'false', ASYA_LOG_LEVEL: 'INFO' };
const consuming = (output: string) => output.includes('Consuming ');

function actorServices(name: string, kind: RuntimeKind, fixture: string, brokerEnv: Record<string, string>, gatewayEnv: Record<string, string>, work: string): ChaosActor {
  const socketDir = mkdtempSync(join(work, `socket-${name}-`));
  const runtime = service({
    name: `${name} runtime`,
    command: runtimeCommand(kind),
    env: {
      PYTHONPATH: join(REPO_ROOT, 'runtime/testdata/handlers'),
      PYTHONUNBUFFERED: '1',
      ASYA_SOCKET_DIR: socketDir,
      ASYA_HANDLER: fixtureHandler(kind, fixture),
      ASYA_LOG_LEVEL: 'WARNING',
    },
    // A killed runtime leaves its ready file; only the new one's counts.
    beforeStart: () => rmSync(join(socketDir, 'runtime-ready'), { force: true }),
    ready: () => existsSync(join(socketDir, 'runtime-ready')),
  });
  const sidecar = service({
    name: `${name} sidecar`,
    command: [...ASYA_BIN, 'sidecar'],
    env: { ...quietEnv, ...brokerEnv, ...gatewayEnv, ASYA_ACTOR_NAME: name, ASYA_SOCKET_DIR: socketDir, ASYA_RUNTIME_TIMEOUT: '30s' },
    ready: consuming,
  });
  return { name, queue: queueName(name), runtime, sidecar };
}

export async function startChaosWorld(): Promise<ChaosWorld> {
  const work = mkdtempSync(join(tmpdir(), 'asya-chaos-'));
  const [broker, db] = await Promise.all([startPrivateRabbitmq(), startPrivatePostgres()]);
  const sql = postgres(db.url, { max: 2, onnotice: () => {}, connect_timeout: 5 });
  const port = await freePort();
  const gatewayUrl = `http://127.0.0.1:${port}`;
  const brokerEnv = { ASYA_TRANSPORT: 'rabbitmq', ASYA_RABBITMQ_URL: broker.url };
  const gatewayEnv = { ASYA_GATEWAY_URL: gatewayUrl, ASYA_GATEWAY_TOKEN: INTERNAL_TOKEN };
  const resultsDir = join(work, 'results');

  const actors = [
    actorServices('chaos-python', 'python', 'sleep', brokerEnv, gatewayEnv, work),
    actorServices('chaos-node', 'node', 'echo', brokerEnv, gatewayEnv, work),
  ];
  const gatewayLink = await startFreezableProxy(broker.port);
  const tools = join(work, 'tools.yaml');
  // No deadline: an envelope the system dropped must stay visibly unfinished, not be swept to `failed`.
  writeFileSync(
    tools,
    `tools:\n- name: ${TOOL}\n  timeout: 0\n  parameters:\n    scenario: {type: string, required: true}\n    n: {type: integer, required: true}\n    seconds: {type: number, default: 0.05}\n  route: [${actors.map((a) => a.name).join(', ')}]\n`,
  );
  const gateway = service({
    name: 'gateway',
    command: [...ASYA_BIN, 'gateway'],
    env: {
      ...quietEnv,
      ASYA_TRANSPORT: 'rabbitmq',
      ASYA_RABBITMQ_URL: `amqp://guest:guest@127.0.0.1:${gatewayLink.port}`,
      ASYA_GATEWAY_HOST: '127.0.0.1',
      ASYA_GATEWAY_PORT: String(port),
      ASYA_CONFIG_PATH: tools,
      ASYA_DATABASE_URL: db.url,
      ASYA_DATABASE_SCHEMA: SCHEMA,
      ASYA_GATEWAY_API_TOKEN: CLIENT_TOKEN,
      ASYA_GATEWAY_TOKEN: INTERNAL_TOKEN,
    },
    ready: async () => (await fetch(`${gatewayUrl}/ready`).catch(() => undefined))?.status === 200,
  });
  const crew = (role: 'happy-end' | 'error-end') =>
    service({
      name: role,
      command: [...ASYA_BIN, 'crew', role],
      env: { ...quietEnv, ...brokerEnv, ...gatewayEnv, ASYA_RESULTS_DIR: resultsDir, ASYA_RUNTIME_READY_TIMEOUT: '60s' },
      ready: consuming,
    });
  const happyEnd = crew('happy-end');
  const errorEnd = crew('error-end');
  const all: Service[] = [...actors.flatMap((a) => [a.runtime, a.sidecar]), happyEnd, errorEnd, gateway];

  const world: ChaosWorld = {
    broker,
    db,
    sql,
    schema: SCHEMA,
    gatewayUrl,
    gateway,
    gatewayLink,
    actors,
    happyEnd,
    errorEnd,
    resultsDir,
    outputs: () => all.map((s) => `===== ${s.name}\n${s.output().slice(-4000)}`).join('\n'),
    async stop() {
      await Promise.allSettled(all.map((s) => s.stop()));
      await gatewayLink.close();
      await sql.end({ timeout: 1 }).catch(() => undefined);
      await Promise.allSettled([broker.dispose(), db.dispose()]);
      rmSync(work, { recursive: true, force: true });
    },
  };
  try {
    // Runtimes first (the sidecars wait for them), then the consumers, so every queue exists before the
    // gateway publishes its first envelope.
    await Promise.all(actors.map((a) => a.runtime.start()));
    await Promise.all([...actors.map((a) => a.sidecar.start()), happyEnd.start(), errorEnd.start()]);
    await gateway.start();
  } catch (err) {
    const detail = world.outputs();
    await world.stop();
    throw new Error(`${errorText(err)}\n${detail}`);
  }
  return world;
}
