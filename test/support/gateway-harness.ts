/**
 * Test support for gateway suites: a gateway on a real PostgreSQL schema of its own, the envelope it
 * published taken off the transport, sidecar-shaped reports, and an SSE reader. Not a test file itself.
 */
import { spawn } from 'node:child_process';
import { EventSourceParserStream } from 'eventsource-parser/stream';
import { resolve } from 'node:path';
import type { Envelope } from '../../protocol/envelope.ts';
import type { JsonValue } from '../../protocol/json.ts';
import { createLogger, type Logger } from '../../protocol/log.ts';
import { queueName } from '../../protocol/queues.ts';
import type { SseEvent } from '../../cli/client/sse.ts';
import type { ActorState, FinalRequest, ProgressRequest } from '../../protocol/gateway-contract.ts';
import { createTestSchema, type TestSchema } from './postgres.ts';
import { MemoryTransport } from '../../transport/memory.ts';
import type { Consumer, Transport } from '../../transport/transport.ts';
import type { GatewayConfig } from '../../gateway/config.ts';
import type { ConsoleSources } from '../../gateway/console/sources.ts';
import { startGateway, type RunningGateway } from '../../gateway/server.ts';
import { openPostgresStore, type EnvelopeStore, type PostgresStoreOptions } from '../../gateway/store/index.ts';
import { buildTools, parseToolsFile, ToolSet } from '../../gateway/tools/index.ts';

export const quietLog = createLogger((process.env.ASYA_TEST_LOG_LEVEL as 'DEBUG' | undefined) ?? 'ERROR', 'test.gateway');

export function toolsFrom(yaml: string): ToolSet {
  return new ToolSet(buildTools([parseToolsFile('tools.yaml', yaml)]));
}

export interface TestGateway {
  readonly url: string;
  readonly gateway: RunningGateway;
  readonly store: EnvelopeStore;
  readonly transport: Transport;
  stop(): Promise<void>;
}

export interface TestGatewayOptions {
  schema: TestSchema;
  tools?: string | ToolSet;
  transport?: Transport;
  config?: Partial<GatewayConfig>;
  sweeper?: boolean;
  store?: Partial<PostgresStoreOptions>;
  /** @default quietLog */
  log?: Logger;
  /** What the console shows beyond the store (its DLQ, its actors); the test may fill it in after the start. */
  consoleSources?: ConsoleSources;
}

export async function startTestGateway(options: TestGatewayOptions): Promise<TestGateway> {
  const store = await openPostgresStore({ url: options.schema.url, schema: options.schema.name, closeTimeoutSeconds: 1, ...options.store });
  const transport = options.transport ?? new MemoryTransport({ logger: { info() {}, warn() {}, error() {} } });
  const tools = typeof options.tools === 'string' ? toolsFrom(options.tools) : (options.tools ?? new ToolSet());
  const gateway = await startGateway({
    store, transport, tools, log: options.log ?? quietLog, env: {},
    sweeper: options.sweeper ?? false,
    ...(options.consoleSources ? { consoleSources: options.consoleSources } : {}),
    config: { port: 0, host: '127.0.0.1', sweepIntervalMs: 100, shutdownTimeoutMs: 1000, auth: defaultAuth(options.config), ...options.config },
  });
  return {
    url: gateway.url,
    gateway,
    store,
    transport,
    async stop() {
      await gateway.stop();
      await store.close();
      if (!options.transport) await transport.close();
    },
  };
}

/** Suites that configure no token test an open gateway, which must be asked for (auth none). */
export function defaultAuth(config: Partial<GatewayConfig> | undefined): GatewayConfig['auth'] {
  const tokens = [config?.apiToken, config?.adminToken, config?.internalToken, ...Object.values(config?.clientTokens ?? {})];
  return tokens.some(Boolean) ? 'token' : 'none';
}

/** One schema per test file (on the shared test database unless `url` names another); dropped by the returned cleanup. */
export async function testSchema(prefix: string, url?: string): Promise<TestSchema> {
  return createTestSchema(`asya_gw_${prefix}`, url);
}

/** Takes the next message published for `actor` off the transport, as the actor's sidecar would. */
export async function takePublished(transport: Transport, actor: string, timeoutMs = 10_000): Promise<Envelope> {
  const queue = queueName(actor);
  let consumer: Consumer | undefined;
  let taken = false;
  try {
    return await new Promise<Envelope>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`nothing was published to ${queue}`)), timeoutMs);
      transport
        .consume(queue, async (delivery) => {
          if (taken) return transport.nack(delivery, { requeue: true });
          taken = true;
          await transport.ack(delivery);
          clearTimeout(timer);
          resolve(JSON.parse(delivery.body.toString('utf8')) as Envelope);
        })
        .then((c) => (consumer = c), reject);
    });
  } finally {
    await consumer?.stop();
  }
}

/** Posts what sidecars and end actors post, with the token they would send. */
export class Sidecar {
  constructor(
    private readonly url: string,
    private readonly token?: string,
  ) {}

  async post(path: string, body: unknown): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${this.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as unknown) : null };
  }

  progress(id: string, actors: string[], idx: number, status: ActorState, message = `${status} ${idx}`) {
    return this.post(`/envelopes/${encodeURIComponent(id)}/progress`, { actors, current_actor_idx: idx, status, message } satisfies ProgressRequest);
  }

  /** A final report in the contract's shape (send anything else with post()). */
  final(id: string, body: FinalRequest) {
    return this.post(`/envelopes/${encodeURIComponent(id)}/final`, { id, timestamp: new Date().toISOString(), ...body } satisfies FinalRequest);
  }

  /** Every actor of the route reports, as the sidecar does (completed carries the advanced index), then happy-end. */
  async walk(envelope: Pick<Envelope, 'id' | 'route'>, result: JsonValue): Promise<void> {
    const { actors } = envelope.route;
    for (let i = envelope.route.current; i < actors.length; i++) {
      for (const [state, idx] of [['received', i], ['processing', i], ['completed', i + 1]] as const) {
        const r = await this.progress(envelope.id, actors, idx, state);
        if (r.status !== 200) throw new Error(`progress answered ${r.status}: ${JSON.stringify(r.body)}`);
      }
    }
    const r = await this.final(envelope.id, { status: 'succeeded', progress: 1.0, result });
    if (r.status !== 200) throw new Error(`final answered ${r.status}: ${JSON.stringify(r.body)}`);
  }
}

export type { SseEvent } from '../../cli/client/sse.ts';

export interface SseRead {
  status: number;
  events: SseEvent[];
  comments: string[];
  /** True when the server ended the stream (rather than `until` stopping the read). */
  closedByServer: boolean;
}

/** Reads an SSE response until the server closes it, `until` is satisfied, or the timeout passes. */
export async function readSse(
  url: string,
  options: { headers?: Record<string, string>; until?: (read: SseRead) => boolean; timeoutMs?: number; onOpen?: () => void } = {},
): Promise<SseRead> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), options.timeoutMs ?? 15_000);
  const read: SseRead = { status: 0, events: [], comments: [], closedByServer: false };
  try {
    const res = await fetch(url, { headers: options.headers ?? {}, signal: abort.signal });
    read.status = res.status;
    if (!res.ok || !res.body) {
      await res.text();
      return read;
    }
    options.onOpen?.();
    // Satisfied by an event or by a comment (keep-alives are comments): the read stops there.
    const check = () => {
      if (options.until?.(read)) abort.abort();
    };
    // The same parser as the CLI's client (eventsource-parser), with the keep-alive comments kept for the tests.
    const parser = new EventSourceParserStream({ onComment: (comment) => (read.comments.push(comment.trim()), check()) });
    const reader = res.body.pipeThrough(new TextDecoderStream()).pipeThrough(parser).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        read.closedByServer = !abort.signal.aborted;
        return read;
      }
      read.events.push({ event: value.event ?? 'message', ...(value.id !== undefined ? { id: value.id } : {}), data: value.data });
      check();
      if (abort.signal.aborted) return read;
    }
  } catch (err) {
    if (abort.signal.aborted) return read;
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `asya gateway` as its own process, as production runs it: its output, its exit, signals. */
export interface GatewayProcess {
  /** Everything it wrote to stderr and stdout so far. */
  output(): string;
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
  /** Resolves with its base URL once it logged that it listens. */
  listening(timeoutMs?: number): Promise<string>;
}

const GATEWAY_CLI = resolve(import.meta.dirname, '../../cli/gateway.ts');

export function runGatewayProcess(args: string[], env: Record<string, string>): GatewayProcess {
  const script = `import(${JSON.stringify(GATEWAY_CLI)}).then((m) => m.runGateway(${JSON.stringify(args)})).catch((e) => { process.stderr.write('asya gateway: ' + e.message + '\\n'); process.exit(1); });`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH ?? '', ASYA_LOG_LEVEL: 'INFO', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const listeningOn = /listening on 127\.0\.0\.1:(\d+)/;
  return {
    output: () => out,
    exited,
    kill: (signal) => child.kill(signal),
    async listening(timeoutMs = 30_000) {
      await waitUntil(() => listeningOn.test(out) || child.exitCode !== null, timeoutMs, 'gateway start');
      const port = listeningOn.exec(out)?.[1];
      if (!port) throw new Error(`the gateway exited before listening:\n${out}`);
      return `http://127.0.0.1:${port}`;
    },
  };
}
