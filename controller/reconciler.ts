/**
 * One reconcile of one AsyncActor (docs/controller.md, "What one reconcile does"): finalizer first, then the queue, then
 * the objects the KRM functions compute, applied by server-side apply only when they changed, then pruning
 * of objects no longer desired (scaling switched off removes the ScaledObject), then status, written only
 * when it changed. Deletion removes the children and the queue before the finalizer is released.
 */
import { AsyncActorError, parseAsyncActor, transportOf, type AsyncActor, type AsyncActorStatus } from '../api/index.ts';
import type { KubeObject } from '../krm-functions/resource-list.ts';
import type { Logger } from '../protocol/index.ts';
import { canonicalJson, DESIRED_HASH, desiredState, type LiveActor } from './desired.ts';
import type { Kube } from './kube.ts';
import type { QueueAdmin } from './queues.ts';
import { computeStatus, type Observation } from './status.ts';

export const FINALIZER = 'asya.sh/finalizer';

/** Kinds an actor can own, for pruning: what the functions may emit per actor. */
export const OWNED_KINDS = [
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'apps/v1', kind: 'StatefulSet' },
  { apiVersion: 'batch/v1', kind: 'Job' },
  { apiVersion: 'v1', kind: 'Service' },
  { apiVersion: 'v1', kind: 'ServiceAccount' },
  { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject' },
  { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledJob' },
] as const;

const KEDA = 'keda.sh/v1alpha1';

export interface ReconcilerDeps {
  kube: Kube;
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

const ownerSelector = (name: string) => `app.kubernetes.io/name=${name},app.kubernetes.io/managed-by=asya`;
const objectKey = (o: { kind: string; metadata: { name: string } }) => `${o.kind}/${o.metadata.name}`;

export class Reconciler {
  constructor(private readonly deps: ReconcilerDeps) {}

  async reconcile(namespace: string, name: string): Promise<ReconcileOutcome> {
    const outcome: ReconcileOutcome = { applied: 0, pruned: 0, statusWritten: false };
    const { kube, log } = this.deps;
    const live = await kube.readActor(namespace, name);
    if (!live) return outcome;
    const finalizers = live.metadata.finalizers ?? [];

    if (live.metadata.deletionTimestamp) {
      if (!finalizers.includes(FINALIZER)) return outcome;
      await this.deleteEverything(live, outcome);
      await kube.setFinalizers(live, finalizers.filter((f) => f !== FINALIZER));
      log.info(`AsyncActor ${namespace}/${name} deleted: children and queue removed`);
      return outcome;
    }
    if (!finalizers.includes(FINALIZER)) await kube.setFinalizers(live, [...finalizers, FINALIZER]);

    const desired = desiredState(live, this.deps.platform);
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
          scaling = { ready: false, message: `${object.kind} not applied (is KEDA installed?): ${(err as Error).message}` };
          continue;
        }
        throw err;
      }
    }
    if (scalingEnabled) scaling ??= { ready: true, message: `${workloadKind === 'Job' ? 'ScaledJob' : 'ScaledObject'} applied` };
    outcome.pruned = await this.prune(live, new Set(desired.owned.map(objectKey)));

    const workloadApiVersion = workloadKind === 'Job' ? 'batch/v1' : 'apps/v1';
    const workload = desired.owned.some((o) => o.kind === workloadKind) ? await kube.read(workloadApiVersion, workloadKind, namespace, name) : undefined;
    await this.writeStatus(live, { ...base, specErrors: [], transport, scaling, workload: workload as Observation['workload'] }, outcome);
    return outcome;
  }

  private async ensureQueue(actor: AsyncActor): Promise<Observation['transport']> {
    try {
      await this.deps.queues.ensure(actor);
      const depth = await this.deps.queues.depth(actor);
      return { ready: true, message: `queue asya-${actor.metadata.name} ready on ${transportOf(actor)}`, ...(depth ? { depth } : {}) };
    } catch (err) {
      return { ready: false, message: `queue asya-${actor.metadata.name} on ${transportOf(actor)}: ${(err as Error).message}` };
    }
  }

  /** Server-side apply, skipped when the live object already carries this exact desired state. */
  private async applyIfChanged(object: KubeObject): Promise<boolean> {
    const namespace = object.metadata.namespace ?? 'default';
    const live = await this.deps.kube.read(object.apiVersion, object.kind, namespace, object.metadata.name);
    if (live?.metadata.annotations?.[DESIRED_HASH] === object.metadata.annotations?.[DESIRED_HASH]) return false;
    await this.deps.kube.apply(object);
    return true;
  }

  private async prune(actor: LiveActor, keep: Set<string>): Promise<number> {
    const namespace = actor.metadata.namespace ?? 'default';
    let pruned = 0;
    for (const { apiVersion, kind } of OWNED_KINDS) {
      const items = (await this.deps.kube.listOwned(apiVersion, kind, namespace, ownerSelector(actor.metadata.name))) ?? [];
      for (const item of items) {
        if (keep.has(objectKey(item)) || !this.ownedBy(item, actor)) continue;
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

  private async writeStatus(live: LiveActor, observation: Observation, outcome: ReconcileOutcome): Promise<void> {
    const previous = live.status as AsyncActorStatus | undefined;
    const next = computeStatus(previous, observation);
    if (previous && canonicalJson(previous) === canonicalJson(next)) return;
    // A merge patch keeps keys it does not mention: clear the ones the new status no longer has.
    const cleared = Object.fromEntries(Object.keys(previous ?? {}).filter((k) => !(k in next)).map((k) => [k, null]));
    await this.deps.kube.patchActorStatus(live, { ...cleared, ...next });
    outcome.statusWritten = true;
  }
}
