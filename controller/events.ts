/**
 * Events (events.k8s.io/v1) on AsyncActors, for `kubectl describe asya` and `kubectl events`. A repeat of
 * the same event (same actor, type, reason, action and note) within DEDUP_WINDOW_MS does not create a
 * new object: it raises the first one's `series.count` and `series.lastObservedTime`, which is how the
 * client tools show "x5 over 3m". Writing an event never fails a reconcile: a failure is logged.
 */
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import type { Logger } from '../protocol/index.ts';
import type { LiveActor } from './desired.ts';

export const REPORTING_CONTROLLER = 'asya.sh/controller';
/** The Kubernetes event broadcaster's deduplication window. */
export const DEDUP_WINDOW_MS = 6 * 60_000;
/** The API server rejects a note over 1 kB. */
const MAX_NOTE = 1024;

export interface ActorEvent {
  type: 'Normal' | 'Warning';
  /** Machine-readable, e.g. ImagePullError, QueueCreated, ReconcileError. */
  reason: string;
  /** What the controller was doing, e.g. Reconcile, CreateQueue. */
  action: string;
  note: string;
}

export interface EventSink {
  emit(actor: LiveActor, event: ActorEvent): void;
  /** Resolves when every event emitted so far is written (tests, shutdown). */
  flush(): Promise<void>;
}

export const noEvents: EventSink = { emit: () => {}, flush: async () => {} };

/** RFC 3339 with microseconds: the MicroTime format the API server expects for eventTime. */
const microTime = (d: Date) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

interface Seen {
  name: string;
  namespace: string;
  count: number;
  firstMs: number;
  /** The write in flight for this event (create or series update): the next one waits for it. */
  last: Promise<unknown>;
}

export function eventRecorder(config: k8s.KubeConfig, instance: string, log: Logger, now: () => Date = () => new Date()): EventSink {
  const objects = k8s.KubernetesObjectApi.makeApiClient(config);
  const seen = new Map<string, Seen>();
  const pending = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>) => {
    const done = p.catch((err: Error) => log.warn(`event not written: ${err.message}`)).finally(() => pending.delete(done));
    pending.add(done);
    return done;
  };
  return {
    emit(actor, event) {
      const at = now();
      const namespace = actor.metadata.namespace ?? 'default';
      const note = event.note.length > MAX_NOTE ? `${event.note.slice(0, MAX_NOTE - 1)}…` : event.note;
      const key = [actor.metadata.uid, event.type, event.reason, event.action, note].join('\u0000');
      for (const [k, s] of seen) if (at.getTime() - s.firstMs > DEDUP_WINDOW_MS) seen.delete(k);
      const before = seen.get(key);
      if (before) {
        before.count++;
        const series = { count: before.count, lastObservedTime: microTime(at) };
        const patch = { apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: before.name, namespace }, series };
        before.last = track(before.last.then(() => objects.patch(patch, undefined, undefined, undefined, undefined, k8s.PatchStrategy.MergePatch)));
        return;
      }
      const name = `${actor.metadata.name}.${randomBytes(8).toString('hex')}`;
      const body = {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name, namespace },
        eventTime: microTime(at),
        reportingController: REPORTING_CONTROLLER,
        reportingInstance: instance,
        action: event.action,
        reason: event.reason,
        note,
        type: event.type,
        regarding: { apiVersion: actor.apiVersion, kind: actor.kind, name: actor.metadata.name, namespace, uid: actor.metadata.uid, resourceVersion: actor.metadata.resourceVersion },
      };
      seen.set(key, { name, namespace, count: 1, firstMs: at.getTime(), last: track(objects.create(body)) });
    },
    async flush() {
      while (pending.size) await Promise.all(pending);
    },
  };
}
