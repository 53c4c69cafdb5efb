/**
 * `asya controller`: watches AsyncActors (and the workloads it made, for their status), reconciles each
 * through a work queue with backoff, resyncs periodically to refresh status, serves /metrics, /healthz and
 * /readyz, and writes nothing unless it holds the leader Lease.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { API_GROUP, API_VERSION, KIND } from '../api/index.ts';
import { createLogger, type Logger } from '../protocol/index.ts';
import type { ControllerConfig } from './config.ts';
import { kubeClient, loadKubeConfig, PLURAL } from './kube.ts';
import { elect, type Election } from './leader.ts';
import { noQueueManagement, transportQueueAdmin, type QueueAdmin } from './queues.ts';
import { Reconciler } from './reconciler.ts';
import { WorkQueue } from './work-queue.ts';
import { watchResource, type WatchedObject, type Watching } from './watcher.ts';

export interface RunningController {
  readonly metricsPort: number;
  readonly reconciler: Reconciler;
  /** Resolves when every queued reconcile is done (tests). */
  idle(): Promise<void>;
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

const WORKLOADS = [
  { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments' },
  { apiVersion: 'apps/v1', kind: 'StatefulSet', plural: 'statefulsets' },
  { apiVersion: 'batch/v1', kind: 'Job', plural: 'jobs' },
];

function metrics() {
  const registry = new Registry();
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
  const log = options.log ?? createLogger(config.logLevel, 'asya.controller');
  const kubeConfig = loadKubeConfig(config.kubeApiUrl);
  const kube = kubeClient(kubeConfig);
  const queues = options.queues ?? (config.manageQueues ? transportQueueAdmin(options.env ?? process.env) : noQueueManagement);
  const reconciler = new Reconciler({ kube, queues, platform: config.platform, log });
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

  const begin = async () => {
    m.leader.set(1);
    const namespaces = config.namespaces.length ? config.namespaces : [undefined];
    const actorWatches: Watching[] = [];
    for (const namespace of namespaces) {
      actorWatches.push(
        watchResource(
          kubeConfig,
          { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: KIND, plural: PLURAL, namespace },
          {
            onList: (items) => {
              for (const o of items) {
                known.add(keyOf(o));
                queue.add(keyOf(o));
              }
            },
            onEvent: (type, o) => {
              if (type === 'DELETED') known.delete(keyOf(o));
              else {
                known.add(keyOf(o));
                queue.add(keyOf(o));
              }
            },
          },
          log,
        ),
      );
      for (const w of WORKLOADS) {
        // A workload's status changes (pods becoming ready) update the owning actor's status.
        const enqueueOwner = (o: WatchedObject) => {
          const owner = (o.metadata.labels as Record<string, string> | undefined)?.['app.kubernetes.io/name'];
          const key = owner ? `${o.metadata.namespace ?? 'default'}/${owner}` : undefined;
          if (key && known.has(key)) queue.add(key);
        };
        watches.push(
          watchResource(kubeConfig, { ...w, namespace, labelSelector: 'app.kubernetes.io/managed-by=asya' }, { onList: (items) => items.forEach(enqueueOwner), onEvent: (_t, o) => enqueueOwner(o) }, log),
        );
      }
    }
    watches.push(...actorWatches);
    await Promise.all(actorWatches.map((w) => w.synced));
    listed = true;
    resync = setInterval(() => known.forEach((k) => queue.add(k)), config.resyncMs);
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
    ready,
    lost,
    idle: () => queue.idle(),
    async stop() {
      stopped = true;
      clearInterval(resync);
      for (const w of watches) w.stop();
      queue.stop();
      m.leader.set(0);
      await election?.stop();
      await queues.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
