/**
 * Runs the gateway: tools from the config, the envelope store (PostgreSQL or embedded), the transport,
 * the HTTP server and the background sweeper, and stops them in order. Tests and `asya dev` pass their
 * own store, transport or tools; whatever is passed in is theirs to close.
 */
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import { createLogger, type Logger } from '../protocol/log.ts';
import { createTransport } from '../transport/factory.ts';
import type { Transport } from '../transport/transport.ts';
import { createGatewayApp } from './app.ts';
import { checkSettings, loadGatewayConfig, type Env, type GatewayConfig } from './config.ts';
import type { GatewayDeps } from './deps.ts';
import type { ConsoleSources } from './console/sources.ts';
import { prometheusConsoleSource } from './console/prometheus-actors.ts';
import { GatewayMetrics } from './metrics.ts';
import { startOutboxRelay, type OutboxRelay } from './outbox.ts';
import { startFanInRelay } from './fan-in-relay.ts';
import { connectStore } from './store-connector.ts';
import { openStore, type EnvelopeStore } from './store/index.ts';
import { startSweeper, type Sweeper } from './sweeper.ts';
import { loadTools, ToolSet } from './tools/index.ts';
import { errorText } from '../protocol/errors.ts';
import { offloadThreshold, payloadStoreOf } from '../payload-store/index.ts';

export interface StartGatewayOptions {
  /** @default from process.env */
  config?: Partial<GatewayConfig>;
  env?: Env;
  store?: EnvelopeStore;
  transport?: Transport;
  tools?: ToolSet;
  log?: Logger;
  metrics?: GatewayMetrics;
  /** Run the deadline sweep and retention cleanup. @default true */
  sweeper?: boolean;
  /** Run the outbox relay (publishes saved envelopes whose publish was not confirmed). @default true */
  outboxRelay?: boolean;
  /** The DLQ and actors the console shows (console/sources.ts); the caller may fill it in after the start. */
  consoleSources?: ConsoleSources;
}

export interface RunningGateway {
  readonly url: string;
  readonly port: number;
  readonly app: Hono;
  readonly deps: GatewayDeps;
  readonly sweeper: Sweeper | undefined;
  readonly outboxRelay: OutboxRelay | undefined;
  stop(): Promise<void>;
}

export async function startGateway(options: StartGatewayOptions = {}): Promise<RunningGateway> {
  const env = options.env ?? process.env;
  const config: GatewayConfig = { ...loadGatewayConfig(env), ...options.config };
  checkSettings(config);
  const log = options.log ?? createLogger(config.logLevel, 'asya.gateway', { format: config.logFormat });
  const tools = options.tools ?? (config.configPath ? await loadTools(config.configPath) : new ToolSet());
  if (tools.size === 0) log.warn('no tools configured (set ASYA_CONFIG_PATH); /mcp and /tools/call offer nothing');
  const store =
    options.store ??
    connectStore(
      () =>
        openStore({
          ...(config.databaseUrl ? { url: config.databaseUrl } : {}),
          ...(config.databaseSchema ? { schema: config.databaseSchema } : {}),
          ...(config.dataDir ? { dataDir: config.dataDir } : {}),
          maxConnections: config.dbMaxConnections,
          maxLifetimeSeconds: config.dbMaxLifetimeSeconds,
          idleTimeoutSeconds: config.dbIdleTimeoutSeconds,
          migrate: config.autoMigrate,
          onBackgroundError: (err) => log.debug(`store background: ${errorText(err)}`),
        }),
      { log },
    );
  const transport = options.transport ?? (await createTransport(env).catch(async (err: unknown) => {
    if (!options.store) await store.close();
    throw err;
  }));
  const metrics = options.metrics ?? new GatewayMetrics();
  const payloadStore = payloadStoreOf(config);
  const consoleSources = withPrometheusActors(config, transport, options.consoleSources);
  const deps: GatewayDeps = {
    store,
    transport,
    tools,
    log,
    metrics,
    closers: new Set(),
    payloads: { store: payloadStore, offloadBytes: offloadThreshold(config, transport.kind), resolveBytes: config.payloadResolveBytes },
    ...(consoleSources ? { consoleSources } : {}),
    options: {
      auth: config.auth,
      apiToken: config.apiToken,
      adminToken: config.adminToken,
      clientTokens: config.clientTokens,
      internalToken: config.internalToken,
      maxBodyBytes: config.maxBodyBytes,
      bodyBudgetBytes: config.bodyBudgetBytes,
      corsOrigins: config.corsOrigins,
      sseKeepAliveMs: config.sseKeepAliveMs,
      taskPollIntervalMs: config.taskPollIntervalMs,
      retentionMs: config.retentionMs,
      outboxLeaseMs: config.outboxLeaseMs,
      pauseMaxMs: config.pauseMaxMs,
      ui: config.ui,
      traceUrl: config.traceUrl,
    },
  };
  const app = createGatewayApp(deps);
  const sweeper =
    options.sweeper === false
      ? undefined
      : startSweeper({
          store, log, metrics,
          sweepIntervalMs: config.sweepIntervalMs,
          retentionMs: config.retentionMs,
          cleanupIntervalMs: config.cleanupIntervalMs,
          ...(payloadStore ? { payloads: payloadStore } : {}),
        });
  const outboxRelay =
    options.outboxRelay === false
      ? undefined
      : startOutboxRelay({ store, transport, log, metrics, intervalMs: config.outboxIntervalMs, leaseMs: config.outboxLeaseMs });
  const fanInRelay =
    options.outboxRelay === false
      ? undefined
      : startFanInRelay({ store, transport, log, intervalMs: config.outboxIntervalMs, leaseMs: config.outboxLeaseMs });
  const server = await listen(app, config.port, config.host, config.keepAliveTimeoutMs);
  const port = (server.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  log.info(`gateway listening on ${config.host}:${port} (${tools.size} tools, transport ${transport.kind})`);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await sweeper?.stop();
      await outboxRelay?.stop();
      await fanInRelay?.stop();
      for (const close of [...deps.closers]) close();
      await closeServer(server, config.shutdownTimeoutMs);
      if (!options.transport) await transport.close().catch((e: unknown) => log.warn(`transport close: ${errorText(e)}`));
      if (!options.store) await store.close().catch((e: unknown) => log.warn(`store close: ${errorText(e)}`));
    })());
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, port, app, deps, sweeper, outboxRelay, stop };
}

function listen(app: Hono, port: number, hostname: string, keepAliveTimeoutMs: number): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port, hostname }, () => resolve(server));
    if ('keepAliveTimeout' in server) {
      server.keepAliveTimeout = keepAliveTimeoutMs;
      // A request's headers may take at most this long; kept above the keep-alive timeout, as Node advises,
      // so a request arriving on a connection about to idle out is not cut by the headers timer instead.
      server.headersTimeout = Math.max(server.headersTimeout, keepAliveTimeoutMs + 1000);
    }
    server.once('error', reject);
  });
}

/** Stops accepting, lets in-flight requests finish, then cuts whatever is left after the timeout. */
function closeServer(server: ServerType, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const closeIdle = () => {
      if ('closeIdleConnections' in server) server.closeIdleConnections();
    };
    // Connections go idle as their last response ends (SSE streams end on shutdown): close them as they do.
    const idle = setInterval(closeIdle, 25);
    const force = setTimeout(() => {
      if ('closeAllConnections' in server) server.closeAllConnections();
    }, timeoutMs);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      clearInterval(idle);
      resolve();
    });
    closeIdle();
  });
}

/**
 * In a cluster the console's actors come from the Prometheus that scrapes the sidecars, when one is named;
 * a caller that knows its actors itself (`asya dev`) fills them in later and replaces this.
 */
function withPrometheusActors(config: GatewayConfig, transport: Transport, sources: ConsoleSources | undefined): ConsoleSources | undefined {
  if (!config.prometheusUrl) return sources;
  const source = prometheusConsoleSource({ url: config.prometheusUrl, selector: config.prometheusSelector, metricsNamespace: config.prometheusMetricsNamespace, transport });
  return Object.assign(sources ?? {}, source);
}
