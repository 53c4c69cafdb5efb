/**
 * The world of the end-to-end suite (test/e2e.case.ts): the real gateway on a PostgreSQL schema of its own,
 * real actors (Node runtime processes behind sidecars), and the real crew started as `asya crew` starts
 * it, all on one transport, with the gateway's client and internal tokens set. Actor, end-actor and DLQ
 * names carry a suffix per file, so files sharing a broker never take each other's messages.
 */
import { randomUUID } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { expect } from 'vitest';
import type { RunningCrew } from '../cli/crew.ts';
import { storageFromEnv, type Storage } from '../crew/storage.ts';
import { readSse, startTestGateway, testSchema, type SseRead, type TestGateway } from './support/gateway-harness.ts';
import type { ConsoleSources } from '../gateway/console/sources.ts';
import type { EnvelopeEvent } from '../gateway/store/index.ts';
import { queueName } from '../protocol/index.ts';
import type { Transport } from '../transport/transport.ts';
import { startActor, startTestCrew, type Actor } from './support/pipeline.ts';
import { deleteQueuesWithDeadLetters, waitDrained } from './support/queues.ts';
import type { TestSchema } from './support/postgres.ts';

export const CLIENT_TOKEN = 'e2e-client-secret';
export const INTERNAL_TOKEN = 'e2e-sidecar-secret';
const clientAuth = { authorization: `Bearer ${CLIENT_TOKEN}` };

/** Actor names of one file: `<role>-<suffix>`. */
export function actorNames(suffix: string) {
  return {
    one: `e2e-one-${suffix}`,
    two: `e2e-two-${suffix}`,
    three: `e2e-three-${suffix}`,
    flaky: `e2e-flaky-${suffix}`,
    slow: `e2e-slow-${suffix}`,
    fan: `e2e-fan-${suffix}`,
    crash: `e2e-crash-${suffix}`,
  };
}
export type ActorNames = ReturnType<typeof actorNames>;

/** Every tool waits for its result when asked (progress: true); the timeout is the envelope's deadline. */
export function toolsYaml(a: ActorNames): string {
  return `
defaults: {progress: true, timeout: 120}
tools:
- name: pipeline
  parameters: {text: {type: string, required: true}}
  route: [${a.one}, ${a.two}, ${a.three}]
- name: flaky
  parameters:
    counter: {type: string, required: true}
    failures: {type: integer, default: 0}
    fixed: {type: string}
  route: [${a.flaky}]
- name: slow
  parameters: {seconds: {type: number, required: true}}
  route: [${a.slow}]
- name: fan
  parameters: {count: {type: integer, default: 3}}
  route: [${a.fan}, ${a.one}]
- name: nested
  parameters: {count: {type: integer, default: 2}}
  route: [${a.fan}, ${a.fan}, ${a.one}]
- name: crash
  progress: false
  parameters:
    counter: {type: string, required: true}
    failures: {type: integer, default: 0}
    seconds: {type: number, default: 0}
  route: [${a.crash}]
`;
}

export interface RetryShape {
  initialDelaySeconds: number;
  multiplier: number;
}

/** The JSON of GET /envelopes/{id}, as far as the suite reads it. */
export interface EnvelopeJson {
  id: string;
  status: string;
  result?: unknown;
  error?: string;
  message?: string;
  progress_percent: number;
  [key: string]: unknown;
}

export interface E2eWorld {
  readonly transport: Transport;
  readonly gw: TestGateway;
  /** The gateway's PostgreSQL schema (for a look at tables no API shows). */
  readonly schema: TestSchema;
  readonly names: ActorNames;
  readonly storage: Storage;
  readonly happy: RunningCrew;
  readonly error: RunningCrew;
  readonly dlqQueue: string;
  /** ASYA_ACTOR_HAPPY_END / ASYA_ACTOR_ERROR_END, the gateway URL and internal token, the retry policy. */
  readonly sidecarEnv: Record<string, string>;
  /** What `asya dlq` needs to reach the gateway. */
  readonly gatewayEnv: Record<string, string>;
  /** Starts an actor of this world (stopped by stop()); `extra` is for its sidecar, `runtimeEnv` for its runtime. */
  actor(name: string, fixture: string, extra?: Record<string, string>, runtimeEnv?: Record<string, string>): Promise<Actor>;
  /** GET with the client token; parsed JSON. */
  get<T = EnvelopeJson>(path: string): Promise<{ status: number; body: T }>;
  /** POST /tools/call; the envelope id from the answer. */
  call(tool: string, args: Record<string, unknown>): Promise<string>;
  /** Polls GET /envelopes/{id} until it is succeeded or failed. */
  finalOf(id: string, timeoutMs?: number): Promise<EnvelopeJson>;
  /** The stored history, oldest first. */
  events(id: string): Promise<EnvelopeEvent[]>;
  /** SSE from the first event until the server closes the stream. */
  stream(id: string, headers?: Record<string, string>): Promise<SseRead>;
  mcp(): Promise<Client>;
  /** Waits until the queues hold nothing ready, in flight or delayed. */
  drained(queues: string[], timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startE2eWorld(options: {
  transport: Transport;
  schemaPrefix: string;
  storageEnv: Record<string, string>;
  retry: RetryShape;
  /** A PostgreSQL server of the test's own (e.g. one it takes down); default: the shared test database. */
  databaseUrl?: string;
  /** The gateway's tools file for this world's names. @default toolsYaml */
  tools?: (names: ActorNames) => string;
  /** Handed to the gateway for its console (its DLQ and actors), to be filled in once the world is up. */
  consoleSources?: ConsoleSources;
}): Promise<E2eWorld> {
  const { transport } = options;
  const suffix = randomUUID().slice(0, 8);
  const names = actorNames(suffix);
  const schema: TestSchema = await testSchema(options.schemaPrefix, options.databaseUrl);
  const gw = await startTestGateway({
    schema,
    // Short connect attempts, so a gateway whose database went away answers 503 at once.
    ...(options.databaseUrl ? { store: { connectTimeoutSeconds: 2 } } : {}),
    tools: (options.tools ?? toolsYaml)(names),
    transport,
    sweeper: true,
    ...(options.consoleSources ? { consoleSources: options.consoleSources } : {}),
    config: { apiToken: CLIENT_TOKEN, internalToken: INTERNAL_TOKEN },
  });
  const endEnv = { ASYA_ACTOR_HAPPY_END: `e2e-happy-${suffix}`, ASYA_ACTOR_ERROR_END: `e2e-error-${suffix}` };
  const dlqQueue = `asya-e2e-dlq-${suffix}`;
  const gatewayEnv = { ASYA_GATEWAY_URL: gw.url, ASYA_GATEWAY_TOKEN: INTERNAL_TOKEN };
  const sidecarEnv = {
    ...endEnv,
    ...gatewayEnv,
    ASYA_RETRY_POLICY: JSON.stringify({ maxAttempts: 3, ...options.retry, maxDelaySeconds: 5, jitter: false }),
  };
  const crewEnv = {
    ...process.env,
    ...endEnv,
    ...gatewayEnv,
    ...options.storageEnv,
    ASYA_DLQ_QUEUE: dlqQueue,
    ASYA_METRICS_ENABLED: 'false',
    ASYA_LOG_LEVEL: 'ERROR',
    ASYA_RUNTIME_READY_TIMEOUT: '60s',
  };
  const [happy, error] = await Promise.all([startTestCrew('happy-end', { env: crewEnv, transport }), startTestCrew('error-end', { env: crewEnv, transport })]);
  const actors: Actor[] = [];
  let client: Client | undefined;

  const get = async <T>(path: string) => {
    const res = await fetch(`${gw.url}${path}`, { headers: clientAuth });
    return { status: res.status, body: (await res.json()) as T };
  };
  const world: E2eWorld = {
    transport,
    gw,
    schema,
    names,
    storage: storageFromEnv(options.storageEnv),
    happy,
    error,
    dlqQueue,
    sidecarEnv,
    gatewayEnv,
    async actor(name, fixture, extra = {}, runtimeEnv = {}) {
      const a = await startActor(transport, name, { kind: 'node', fixture, sidecarEnv: { ...sidecarEnv, ...extra }, runtimeEnv });
      actors.push(a);
      return a;
    },
    get,
    async call(tool, args) {
      const res = await fetch(`${gw.url}/tools/call`, {
        method: 'POST',
        headers: { ...clientAuth, 'content-type': 'application/json' },
        body: JSON.stringify({ name: tool, arguments: args }),
      });
      const body = (await res.json()) as { content: Array<{ text: string }>; isError?: boolean };
      if (res.status !== 200 || body.isError) throw new Error(`tools/call ${tool} answered ${res.status}: ${JSON.stringify(body)}`);
      return (JSON.parse(body.content[0]!.text) as { envelope_id: string }).envelope_id;
    },
    async finalOf(id, timeoutMs = 60_000) {
      await expect
        .poll(async () => (await get<EnvelopeJson>(`/envelopes/${encodeURIComponent(id)}`)).body.status, { timeout: timeoutMs, interval: 100 })
        .toMatch(/^(succeeded|failed)$/);
      return (await get<EnvelopeJson>(`/envelopes/${encodeURIComponent(id)}`)).body;
    },
    events: (id) => gw.store.eventsSince(id, 0, 10_000),
    stream: (id, headers = {}) => readSse(`${gw.url}/envelopes/${encodeURIComponent(id)}/stream`, { headers: { ...clientAuth, ...headers }, timeoutMs: 30_000 }),
    async mcp() {
      if (!client) {
        client = new Client({ name: 'asya-e2e', version: '1.0.0' });
        await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), { requestInit: { headers: clientAuth } }));
      }
      return client;
    },
    drained(queues, timeoutMs = 60_000) {
      return waitDrained(transport, queues, timeoutMs);
    },
    async stop() {
      await client?.close().catch(() => {});
      await Promise.allSettled(actors.map((a) => a.stop()));
      await Promise.allSettled([happy.stop(), error.stop()]);
      await deleteQueuesWithDeadLetters(transport, [...[...actors.map((a) => a.name), happy.name, error.name].map(queueName), dlqQueue]);
      await gw.stop();
      await schema.drop();
    },
  };
  return world;
}


/** The `data` of each SSE update, parsed. */
export function updates(read: SseRead): Array<{ status: string; envelope_state?: string; message?: string; result?: unknown }> {
  return read.events.map((e) => JSON.parse(e.data) as { status: string });
}

export const isFinalStatus = (status: string) => status === 'succeeded' || status === 'failed';
