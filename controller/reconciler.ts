/**
 * One reconcile of one AsyncActor (docs/controller.md, "What one reconcile does"): finalizer first, then the queue, then
 * the objects the KRM functions compute, applied by server-side apply only when they changed, then pruning
 * of objects no longer desired (scaling switched off removes the ScaledObject), then status, written only
 * when it changed. Deletion removes the children and the queue before the finalizer is released.
 * Everything it reads comes from the informer caches (cache.ts), so a reconcile that finds nothing to do
 * makes no API calls; a kind the caches do not hold is read from the API server.
 */
import { AsyncActorError, parseAsyncActor, transportOf, type AsyncActor, type AsyncActorStatus } from '../api/index.ts';
import type { KubeObject } from '../krm-functions/resource-list.ts';
import type { Logger } from '../protocol/index.ts';
import type { Caches } from './cache.ts';
import { canonicalJson, DESIRED_HASH, desiredState, type LiveActor } from './desired.ts';
import { type EventSink } from './events.ts';
import type { Kube } from './kube.ts';
import { KIND_ACTOR, OWNED_KINDS, OWNER_LABEL, POD_ACTOR_LABEL } from './kinds.ts';
import { podHealth, type Pod } from './pod-health.ts';
import type { QueueAdmin } from './queues.ts';
import { computeStatus, statusEvents, type Observation } from './status.ts';
import { errorText } from '../protocol/errors.ts';

export const FINALIZER = 'asya.sh/finalizer';

const KEDA = 'keda.sh/v1alpha1';

export interface ReconcilerDeps {
  kube: Kube;
  caches: Caches;
  events: EventSink;
  queues: QueueAdmin;
  /** The platform settings (functionConfig) the KRM functions get. */
  platform: unknown;
  log: Logger;
  now?: () => Date;
}

export interface ReconcileOutcome {
  applied: number;
  pruned: number;
  statusWritten: boolean;
}

const objectKey = (o: { kind: string; metadata: { name: string } }) => `${o.kind}/${o.metadata.name}`;

export class Reconciler {
  /**
   * The status this replica last wrote per actor. The cache may not have seen that write yet when the
   * next reconcile runs (it is often the write's own watch event that triggers it): comparing with the
   * cache would write the same status again and announce the same transition twice.
   */
  private readonly written = new Map<string, { uid?: string; status: AsyncActorStatus }>();

  constructor(private readonly deps: ReconcilerDeps) {}

  async reconcile(namespace: string, name: string): Promise<ReconcileOutcome> {
    const outcome: ReconcileOutcome = { applied: 0, pruned: 0, statusWritten: false };
    const { kube, log } = this.deps;
    const live = this.deps.caches.of(KIND_ACTOR.apiVersion, KIND_ACTOR.kind)?.get<LiveActor>(namespace, name);
    if (!live) return outcome;
    const finalizers = live.metadata.finalizers ?? [];

    if (live.metadata.deletionTimestamp) {
      if (!finalizers.includes(FINALIZER)) return outcome;
      await this.deleteEverything(live, outcome);
      const { manages, deletes } = this.deps.queues;
      if (manages && deletes !== false) this.deps.events.emit(live, { type: 'Normal', reason: 'QueueDeleted', action: 'DeleteQueue', note: `queue asya-${name} deleted` });
      if (manages && deletes === false) this.deps.events.emit(live, { type: 'Normal', reason: 'QueueKept', action: 'DeleteQueue', note: `queue asya-${name} kept (ASYA_QUEUE_DELETION=never: other clusters may consume it)` });
      await kube.setFinalizers(live, finalizers.filter((f) => f !== FINALIZER));
      this.written.delete(`${namespace}/${name}`);
      log.info(`AsyncActor ${namespace}/${name} deleted: children and queue removed`);
      return outcome;
    }
    if (!finalizers.includes(FINALIZER)) await kube.setFinalizers(live, [...finalizers, FINALIZER]);

    const desired = desiredState(live, this.deps.platform);
    // Warnings (an original crew handler replaced, a pod label overridden) once per spec change, not per resync.
    if (this.previous(live)?.observedGeneration !== (live.metadata.generation ?? 1)) {
      for (const w of desired.warnings) this.deps.events.emit(live, { type: 'Warning', reason: 'SpecWarning', action: 'Validate', note: w.message });
    }
    const scalingEnabled = (live.spec as { scaling?: { enabled?: boolean } } | undefined)?.scaling?.enabled === true;
    const workloadKind = String((live.spec as { workload?: { kind?: string } } | undefined)?.workload?.kind ?? 'Deployment');
    const base = { generation: live.metadata.generation ?? 1, deleting: false, scalingEnabled, workloadKind, namespace, name, now: (this.deps.now ?? (() => new Date()))() };

    if (desired.errors.length) {
      // No workload for an invalid spec: the message says what to fix, with the field path.
      const specErrors = desired.errors.map((r) => (r.field ? `${r.field.path}: ${r.message}` : r.message));
      await this.writeStatus(live, { ...base, specErrors, transport: { ready: false, message: 'not provisioned: the spec is invalid' } }, outcome);
      return outcome;
    }
    const actor = parseAsyncActor(live);
    const transport = await this.ensureQueue(actor);

    let scaling: Observation['scaling'];
    for (const object of [...desired.shared, ...desired.owned]) {
      try {
        if (await this.applyIfChanged(object)) outcome.applied++;
      } catch (err) {
        if (object.apiVersion === KEDA) {
          scaling = { ready: false, message: `${object.kind} not applied (is KEDA installed?): ${errorText(err)}` };
          continue;
        }
        throw err;
      }
    }
    if (scalingEnabled) scaling ??= { ready: true, message: `${workloadKind === 'Job' ? 'ScaledJob' : 'ScaledObject'} applied` };
    outcome.pruned = await this.prune(live, new Set(desired.owned.map(objectKey)));

    const workloadApiVersion = workloadKind === 'Job' ? 'batch/v1' : 'apps/v1';
    const workload = desired.owned.some((o) => o.kind === workloadKind) ? await this.read(workloadApiVersion, workloadKind, namespace, name) : undefined;
    const pods = podHealth(this.deps.caches.of('v1', 'Pod')?.labelled<Pod>(namespace, POD_ACTOR_LABEL, name) ?? []);
    await this.writeStatus(live, { ...base, specErrors: [], transport, scaling, pods, workload: workload as Observation['workload'] }, outcome);
    return outcome;
  }

  private async ensureQueue(actor: AsyncActor): Promise<Observation['transport']> {
    try {
      await this.deps.queues.ensure(actor);
      const depth = await this.deps.queues.depth(actor);
      return { ready: true, managed: this.deps.queues.manages, message: `queue asya-${actor.metadata.name} ready on ${transportOf(actor)}`, ...(depth ? { depth } : {}) };
    } catch (err) {
      return { ready: false, message: `queue asya-${actor.metadata.name} on ${transportOf(actor)}: ${errorText(err)}` };
    }
  }

  /** From the kind's cache; a kind without one is read from the API server. */
  private async read(apiVersion: string, kind: string, namespace: string, name: string): Promise<KubeObject | undefined> {
    const cache = this.deps.caches.of(apiVersion, kind);
    return cache ? cache.get(namespace, name) : this.deps.kube.read(apiVersion, kind, namespace, name);
  }

  /** Server-side apply, skipped when the live object already carries this exact desired state. */
  private async applyIfChanged(object: KubeObject): Promise<boolean> {
    const namespace = object.metadata.namespace ?? 'default';
    const live = await this.read(object.apiVersion, object.kind, namespace, object.metadata.name);
    if (live?.metadata.annotations?.[DESIRED_HASH] === object.metadata.annotations?.[DESIRED_HASH]) return false;
    await this.deps.kube.apply(object);
    return true;
  }

  private async prune(actor: LiveActor, keep: Set<string>): Promise<number> {
    const namespace = actor.metadata.namespace ?? 'default';
    let pruned = 0;
    for (const { apiVersion, kind } of OWNED_KINDS) {
      const items = this.deps.caches.of(apiVersion, kind)?.labelled(namespace, OWNER_LABEL, actor.metadata.name) ?? [];
      for (const item of items) {
        if (keep.has(objectKey(item)) || item.metadata.labels?.['app.kubernetes.io/managed-by'] !== 'asya' || !this.ownedBy(item, actor)) continue;
        await this.deps.kube.remove(apiVersion, kind, namespace, item.metadata.name);
        this.deps.log.info(`pruned ${kind}/${item.metadata.name} of AsyncActor ${namespace}/${actor.metadata.name}`);
        pruned++;
      }
    }
    return pruned;
  }

  private ownedBy(item: KubeObject, actor: LiveActor): boolean {
    const refs = (item.metadata.ownerReferences as { uid?: string; controller?: boolean }[] | undefined) ?? [];
    return refs.some((r) => r.controller && r.uid === actor.metadata.uid);
  }

  private async deleteEverything(actor: LiveActor, outcome: ReconcileOutcome): Promise<void> {
    outcome.pruned = await this.prune(actor, new Set());
    try {
      await this.deps.queues.remove(parseAsyncActor(actor));
    } catch (err) {
      // An invalid spec never had a queue; a broker that is down keeps the finalizer until it is back.
      if (err instanceof AsyncActorError) return;
      throw err;
    }
  }

  /** The actor's status as this replica last wrote it, else as the cache has it. */
  private previous(live: LiveActor): AsyncActorStatus | undefined {
    const mine = this.written.get(`${live.metadata.namespace ?? 'default'}/${live.metadata.name}`);
    return mine && mine.uid === live.metadata.uid ? mine.status : (live.status as AsyncActorStatus | undefined);
  }

  private async writeStatus(live: LiveActor, observation: Observation, outcome: ReconcileOutcome): Promise<void> {
    const key = `${observation.namespace}/${observation.name}`;
    const previous = this.previous(live);
    const next = computeStatus(previous, observation);
    for (const event of statusEvents(previous, next, observation)) this.deps.events.emit(live, event);
    if (previous && canonicalJson(previous) === canonicalJson(next)) return;
    // A merge patch keeps keys it does not mention: clear the ones the new status no longer has.
    const cleared = Object.fromEntries(Object.keys(previous ?? {}).filter((k) => !(k in next)).map((k) => [k, null]));
    await this.deps.kube.patchActorStatus(live, { ...cleared, ...next });
    this.written.set(key, { uid: live.metadata.uid, status: next });
    outcome.statusWritten = true;
  }
}
