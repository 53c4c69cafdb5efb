/**
 * Wires one actor's sidecar: wait for the runtime, make sure its queue exists, consume with the configured
 * concurrency, serve metrics and probes, and drain on stop.
 */
import { createServer, type Server } from 'node:http';
import { actorQueueOptions, createLogger, dlqName, queueName, type Logger } from '../protocol/index.ts';
import type { Consumer, Transport } from '../transport/transport.ts';
import { offloadThreshold, payloadStoreOf } from '../payload-store/index.ts';
import { ClaimCheck } from './claim-check.ts';
import type { SidecarConfig } from './config.ts';
import { createMetrics, type SidecarMetrics } from './metrics.ts';
import { httpReporter, noGateway, type ProgressReporter } from './progress-reporter.ts';
import { Router, type RuntimeSupervisor } from './router.ts';
import { httpPauseReporter, type PauseReporter } from './pause.ts';
import { RuntimeClient } from './runtime-client.ts';
import { markerFileSupervisor, waitForRuntime } from './supervisor.ts';

export interface SidecarOptions {
  config: SidecarConfig;
  transport: Transport;
  supervisor?: RuntimeSupervisor;
  reporter?: ProgressReporter;
  pauses?: PauseReporter;
  log?: Logger;
  /** Queue settings when the sidecar creates its own queue (ASYA_QUEUE_AUTO_CREATE); default actorQueueOptions. */
  queue?: { autoCreate: boolean; maxDeliveries?: number; dlqRetentionMs?: number };
}

export interface RunningSidecar {
  readonly metrics: SidecarMetrics;
  readonly router: Router;
  readonly metricsPort?: number;
  /** Drain: stop consuming, finish in-flight work, requeue what was not started, close. */
  stop(): Promise<void>;
  /** Resolves when the sidecar has stopped by itself (ASYA_EXIT_WHEN_IDLE); never otherwise. */
  readonly finished: Promise<void>;
}

export async function startSidecar(options: SidecarOptions): Promise<RunningSidecar> {
  const { config, transport } = options;
  const log = options.log ?? createLogger(config.logLevel, 'asya.sidecar', { format: config.logFormat, actor: config.actorName });
  const metrics = createMetrics(config, transport.kind);
  const stopping = new AbortController();
  let consumer: Consumer | undefined;
  let draining = false;

  const runtimeClient = new RuntimeClient({ socketPath: config.socketPath, readyFile: config.readyFile, keepAlive: config.runtimeKeepAlive, maxIdle: config.concurrency });
  const reporter = options.reporter ?? (config.gatewayUrl ? httpReporter({ url: config.gatewayUrl, token: config.gatewayToken, log }) : noGateway);
  const router = new Router({
    config,
    transport,
    runtime: {
      call: (body, timeoutMs, readResponse) => runtimeClient.call(body, { timeoutMs, maxFrameBytes: config.maxFrameBytes, ...(readResponse ? { readResponse } : {}) }),
    },
    claimCheck: new ClaimCheck({
      store: payloadStoreOf(config),
      thresholdBytes: offloadThreshold(config, transport.kind),
      log,
      stopping: stopping.signal,
      holdLimitMs: config.runtimeTimeoutMs,
    }),
    supervisor: options.supervisor ?? markerFileSupervisor(config, config.runtimeReadyTimeoutMs, log),
    reporter,
    pauses: options.pauses ?? (config.gatewayUrl ? httpPauseReporter({ url: config.gatewayUrl, token: config.gatewayToken }) : undefined),
    metrics,
    log,
    stopping: stopping.signal,
  });

  let finish = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const idle = idleWatch(config.exitWhenIdleMs, () => {
    log.info(`No message for ${config.exitWhenIdleMs} ms: finishing (ASYA_EXIT_WHEN_IDLE)`);
    void running.stop().then(finish);
  });

  const server = config.metricsEnabled ? await serveProbes(config, metrics, () => !!consumer && !draining && router.runtimeReachable) : undefined;
  try {
    log.info(`Waiting for the runtime at ${config.socketPath}`);
    await waitForRuntime(config, config.runtimeReadyTimeoutMs, { signal: stopping.signal });
    const own = queueName(config.actorName);
    if (options.queue?.autoCreate ?? true) {
      // The broker must not take a delivery back while the runtime may still legitimately be working on it.
      const declared = actorQueueOptions(config.runtimeTimeoutMs);
      const { autoCreate: _, ...override } = options.queue ?? { autoCreate: true };
      await transport.ensureQueue(own, { ...declared, ...override });
      // error-end's dead letters must have somewhere to go before the first one is written.
      if (config.isEndActor && config.actorName === config.errorEnd) await transport.ensureQueue(config.dlqQueue);
    }
    consumer = await transport.consume(
      own,
      async (delivery, slot) => {
        metrics.active(1);
        idle.busy(1);
        try {
          await router.handle(delivery, slot);
        } finally {
          metrics.active(-1);
          idle.busy(-1);
        }
      },
      { concurrency: config.concurrency },
    );
    log.info(`Consuming ${own} (concurrency ${config.concurrency}${config.isEndActor ? ', end actor' : ''}); dead letters go to ${dlqName(config.actorName)}`);
  } catch (err) {
    server?.close();
    throw err;
  }

  idle.busy(0);
  let stopped: Promise<void> | undefined;
  const running: RunningSidecar = {
    finished,
    metrics,
    router,
    metricsPort: server ? (server.address() as { port: number }).port : undefined,
    stop() {
      stopped ??= (async () => {
        draining = true;
        idle.cancel();
        log.info('Draining: no new messages; finishing those in flight');
        stopping.abort();
        await consumer?.stop();
        runtimeClient.close();
        await Promise.race([reporter.flush(), new Promise((r) => setTimeout(r, 2000))]);
        await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
        log.info('Sidecar shutdown complete');
      })();
      return stopped;
    },
  };
  return running;
}

/** Calls onIdle once nothing has been in flight for `ms`; every delivery restarts the clock. */
function idleWatch(ms: number | undefined, onIdle: () => void): { busy(delta: number): void; cancel(): void } {
  let inFlight = 0;
  let timer: NodeJS.Timeout | undefined;
  let cancelled = ms === undefined;
  return {
    busy(delta) {
      inFlight += delta;
      clearTimeout(timer);
      if (!cancelled && inFlight === 0) timer = setTimeout(onIdle, ms);
    },
    cancel() {
      cancelled = true;
      clearTimeout(timer);
    },
  };
}

async function serveProbes(config: SidecarConfig, metrics: SidecarMetrics, isReady: () => boolean): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500).end(err.message),
      );
    } else if (path === '/health' || path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
    } else if (path === '/ready' || path === '/readyz') {
      const ready = isReady();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ready' : 'not ready');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.metricsAddr.port, config.metricsAddr.host, () => resolve());
  });
  return server;
}
