/**
 * `asya controller`: watches AsyncActors, the objects it made and the actors' pods into informer caches
 * (kinds.ts lists them), reconciles each actor through a work queue with backoff once every cache has
 * listed, resyncs periodically from the caches to refresh status, records Events, serves /metrics,
 * /healthz and /readyz, and writes nothing unless it holds the leader Lease.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { readPlatformConfig } from '../krm-functions/platform-config.ts';
import { createLogger, type Logger } from '../protocol/index.ts';
import { Caches } from './cache.ts';
import type { ControllerConfig } from './config.ts';
import type { LiveActor } from './desired.ts';
import { eventRecorder, type EventSink } from './events.ts';
import { KIND_ACTOR, OWNER_LABEL, POD_ACTOR_LABEL, WATCHED_KINDS } from './kinds.ts';
import { kubeClient, loadKubeConfig } from './kube.ts';
import { managementApi, withManagementDepth } from './management-depth.ts';
import { queueDeletionFromEnv, withQueueDeletion } from './queue-deletion.ts';
import { queuePolicyFor } from './queue-policy.ts';
import { elect, type Election } from './leader.ts';
import { noQueueManagement, transportQueueAdmin, type QueueAdmin } from './queues.ts';
import { Reconciler } from './reconciler.ts';
import { WorkQueue } from './work-queue.ts';
import { watchResource, type WatchedObject, type Watching } from './watcher.ts';
import { errorText } from '../protocol/errors.ts';
import { addProcessMetrics } from '../telemetry/process-metrics.ts';

export interface RunningController {
  readonly metricsPort: number;
  readonly reconciler: Reconciler;
  /** Resolves when every queued reconcile is done and its Events are written (tests). */
  idle(): Promise<void>;
  /** The informer caches (tests count what they hold). */
  readonly caches: Caches;
  /** Resolves once this replica leads and has listed the actors. */
  readonly ready: Promise<void>;
  /** Resolves if the replica lost its Lease: the process should exit and restart as a candidate. */
  readonly lost: Promise<void>;
  stop(): Promise<void>;
}

export interface ControllerOptions {
  config: ControllerConfig;
  /** Queue admin override (tests); default: transports from the ASYA_* environment. */
  queues?: QueueAdmin;
  env?: Record<string, string | undefined>;
  log?: Logger;
}

function metrics() {
  const registry = new Registry();
  addProcessMetrics(registry);
  return {
    registry,
    reconciles: new Counter({ name: 'asya_controller_reconcile_total', help: 'Reconciles by result', labelNames: ['result'], registers: [registry] }),
    duration: new Histogram({ name: 'asya_controller_reconcile_duration_seconds', help: 'Time per reconcile', registers: [registry] }),
    writes: new Counter({ name: 'asya_controller_writes_total', help: 'Objects applied or pruned, and status updates', labelNames: ['kind'], registers: [registry] }),
    queueDepth: new Gauge({ name: 'asya_controller_work_queue_depth', help: 'Actors waiting for or in a reconcile', registers: [registry] }),
    leader: new Gauge({ name: 'asya_controller_leader', help: '1 while this replica holds the Lease', registers: [registry] }),
  };
}

export async function startController(options: ControllerOptions): Promise<RunningController> {
  const { config } = options;
  const log = options.log ?? createLogger(config.logLevel, 'asya.controller', { format: config.logFormat });
  const kubeConfig = loadKubeConfig(config.kubeApiUrl);
  const kube = kubeClient(kubeConfig);
  const env = options.env ?? process.env;
  const admin = withQueueDeletion(options.queues ?? (config.manageQueues ? transportQueueAdmin(env, undefined, queuePolicyFor(config.platform)) : noQueueManagement), queueDeletionFromEnv(env));
  const platform = readPlatformConfig(config.platform);
  const managementUrl = platform.ok ? platform.config.transports.rabbitmq.managementUrl : undefined;
  // Over AMQP the controller cannot see other connections' unacknowledged messages; the management API can.
  const queues = managementUrl && admin.manages ? withManagementDepth(admin, managementApi(managementUrl, env), log) : admin;
  const caches = new Caches(WATCHED_KINDS);
  const events: EventSink = eventRecorder(kubeConfig, config.leaderElection.identity, log);
  const reconciler = new Reconciler({ kube, caches, events, queues, platform: config.platform, log });
  const m = metrics();
  const known = new Set<string>();
  let listed = false;

  const queue = new WorkQueue(
    async (key) => {
      const [namespace, name] = key.split('/') as [string, string];
      const end = m.duration.startTimer();
      try {
        const outcome = await reconciler.reconcile(namespace, name);
        if (outcome.applied) m.writes.inc({ kind: 'apply' }, outcome.applied);
        if (outcome.pruned) m.writes.inc({ kind: 'prune' }, outcome.pruned);
        if (outcome.statusWritten) m.writes.inc({ kind: 'status' });
        m.reconciles.inc({ result: 'ok' });
      } catch (err) {
        m.reconciles.inc({ result: 'error' });
        const actor = caches.of(KIND_ACTOR.apiVersion, KIND_ACTOR.kind)?.get<LiveActor>(namespace, name);
        if (actor) events.emit(actor, { type: 'Warning', reason: 'ReconcileError', action: 'Reconcile', note: errorText(err) });
        throw err;
      } finally {
        end();
        m.queueDepth.set(queue.depth);
      }
    },
    { concurrency: config.concurrency, baseBackoffMs: config.backoff.baseMs, maxBackoffMs: config.backoff.maxMs },
    (key, err, retryInMs) => log.warn(`reconcile ${key} failed: ${err.message}; ${retryInMs === undefined ? 'not retrying (terminal)' : `retrying in ${retryInMs} ms`}`),
  );
  const keyOf = (o: WatchedObject) => `${o.metadata.namespace ?? 'default'}/${o.metadata.name}`;

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      m.registry.metrics().then((text) => res.writeHead(200, { 'content-type': m.registry.contentType }).end(text), (err: Error) => res.writeHead(500).end(err.message));
    } else if (path === '/healthz') res.writeHead(200).end('ok');
    else if (path === '/readyz') {
      // A standby replica is ready too: it is healthy and waiting for the Lease.
      const ok = !election || !election.isLeader() || listed;
      res.writeHead(ok ? 200 : 503).end(ok ? 'ready' : 'not ready');
    } else res.writeHead(404).end('not found');
  });
  await new Promise<void>((resolve) => server.listen(config.metricsAddr.port, config.metricsAddr.host, resolve));

  const election: Election | undefined = config.leaderElection.enabled ? elect(kubeConfig, config.leaderElection, log) : undefined;
  const watches: Watching[] = [];
  let resync: NodeJS.Timeout | undefined;
  let stopped = false;

  /** Reconciles start once every cache has listed: before that, a missing object may only be unlisted. */
  let synced = false;
  const enqueue = (key: string) => {
    if (synced && known.has(key)) queue.add(key);
  };
  const begin = async () => {
    m.leader.set(1);
    const namespaces = config.namespaces.length ? config.namespaces : [undefined];
    for (const namespace of namespaces) {
      for (const kind of WATCHED_KINDS) {
        const cache = caches.of(kind.apiVersion, kind.kind)!;
        // An object's change re-reconciles the actor it belongs to: by label for pods and children.
        const ownerKey = (o: WatchedObject) => {
          const labels = o.metadata.labels as Record<string, string> | undefined;
          const owner = kind.role === 'actor' ? o.metadata.name : labels?.[kind.role === 'observed' ? POD_ACTOR_LABEL : OWNER_LABEL];
          return owner ? keyOf({ metadata: { ...o.metadata, name: owner } }) : undefined;
        };
        watches.push(
          watchResource(
            kubeConfig,
            { ...kind, namespace },
            {
              onList: (items) => {
                cache.replace(namespace, items);
                if (kind.role === 'actor') items.forEach((o) => known.add(keyOf(o)));
                for (const o of items) {
                  const key = ownerKey(o);
                  if (key) enqueue(key);
                }
              },
              onEvent: (type, o) => {
                cache.update(type, o);
                const key = ownerKey(o);
                if (kind.role === 'actor') {
                  if (type === 'DELETED') known.delete(keyOf(o));
                  else known.add(keyOf(o));
                }
                if (key) enqueue(key);
              },
            },
            log,
          ),
        );
      }
    }
    await Promise.all(watches.map((w) => w.synced));
    synced = true;
    listed = true;
    known.forEach(enqueue);
    resync = setInterval(() => known.forEach(enqueue), config.resyncMs);
    log.info(`controller running: watching ${config.namespaces.length ? config.namespaces.join(', ') : 'all namespaces'}`);
  };

  const ready = (async () => {
    if (election) await election.leading;
    if (!stopped) await begin();
  })();
  const lost = election ? election.lost : new Promise<void>(() => {});

  return {
    metricsPort: (server.address() as AddressInfo).port,
    reconciler,
    caches,
    ready,
    lost,
    idle: async () => {
      await queue.idle();
      await events.flush();
    },
    async stop() {
      stopped = true;
      clearInterval(resync);
      for (const w of watches) w.stop();
      queue.stop();
      await events.flush();
      m.leader.set(0);
      await election?.stop();
      await queues.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
