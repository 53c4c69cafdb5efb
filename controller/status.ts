/**
 * The AsyncActor status the controller writes (docs/controller.md, "Status"), computed purely from what it
 * observed. Differences from the original, on purpose: an actor scaled to zero reads `Napping` (the
 * original showed `WorkloadError`), `lastScaleFormatted` is an absolute time rather than "12s ago" (a
 * relative string would change on every reconcile and turn every resync into a write), and a condition keeps
 * its lastTransitionTime until its status really changes.
 */
import type { AsyncActorStatus } from '../api/status.ts';
import type { ActorEvent } from './events.ts';
import type { PodHealth } from './pod-health.ts';

export interface Observation {
  generation: number;
  deleting: boolean;
  scalingEnabled: boolean;
  workloadKind: string;
  namespace: string;
  name: string;
  /** Problems with the spec (from the KRM functions); no workload is applied while there are any. */
  specErrors: string[];
  /** managed: the controller declares the queue (so it can say it created it). */
  transport: { ready: boolean; message: string; depth?: { ready: number; inFlight: number }; managed?: boolean };
  /** The workload object as the API server holds it (undefined: not created yet). */
  workload?: { spec?: { replicas?: number; parallelism?: number }; status?: { replicas?: number; readyReplicas?: number; active?: number; succeeded?: number } };
  scaling?: { ready: boolean; message: string };
  /** The actor's pods, classified (undefined: not looked at, e.g. for an invalid spec). */
  pods?: PodHealth;
  now: Date;
}

type Condition = NonNullable<AsyncActorStatus['conditions']>[number];

function condition(previous: AsyncActorStatus | undefined, type: string, ok: boolean, reason: string, message: string, o: Observation): Condition {
  const status = ok ? 'True' : 'False';
  const before = previous?.conditions?.find((c) => c.type === type);
  const lastTransitionTime = before && before.status === status ? before.lastTransitionTime : o.now.toISOString();
  return { type, status, reason, message, lastTransitionTime, observedGeneration: o.generation };
}

export function computeStatus(previous: AsyncActorStatus | undefined, o: Observation): AsyncActorStatus {
  const isJob = o.workloadKind === 'Job';
  const ready = isJob ? (o.workload?.status?.active ?? 0) : (o.workload?.status?.readyReplicas ?? 0);
  const total = isJob ? (o.workload?.status?.active ?? 0) : (o.workload?.status?.replicas ?? 0);
  const desired = isJob ? (o.workload?.spec?.parallelism ?? 0) : (o.workload?.spec?.replicas ?? (o.scalingEnabled ? 0 : 1));
  // A pod problem outranks the replica count: a rollout stuck on a bad image still has its old pods ready.
  const podProblem = o.specErrors.length === 0 ? o.pods?.problem : undefined;
  const workloadOk = o.specErrors.length === 0 && !podProblem && o.workload !== undefined && (ready >= desired || (isJob && (o.workload.status?.succeeded ?? 0) > 0));
  const workloadMessage = o.specErrors.length
    ? o.specErrors.join('; ')
    : podProblem
      ? podProblem.message
      : o.workload === undefined
        ? `${o.workloadKind} not created yet`
        : `${ready}/${desired} replicas ready`;
  const workloadReason = o.specErrors.length ? 'InvalidSpec' : podProblem ? podProblem.status : workloadOk ? 'Ready' : 'NotReady';
  const conditions: Condition[] = [
    condition(previous, 'TransportReady', o.transport.ready, o.transport.ready ? 'QueueReady' : 'QueueError', o.transport.message, o),
    condition(previous, 'WorkloadReady', workloadOk, workloadReason, workloadMessage, o),
    ...(o.scalingEnabled && o.scaling ? [condition(previous, 'ScalingReady', o.scaling.ready, o.scaling.ready ? 'ScalerReady' : 'ScalerError', o.scaling.message, o)] : []),
  ];

  let status: string;
  if (o.deleting) status = 'Terminating';
  else if (o.specErrors.length) status = 'ConfigError';
  else if (!o.transport.ready) status = 'TransportError';
  else if (podProblem) status = podProblem.status;
  else if (o.scalingEnabled && o.scaling && !o.scaling.ready) status = 'ScalingError';
  else if (o.workload === undefined) status = 'Creating';
  else if (o.scalingEnabled && desired === 0 && ready === 0) status = 'Napping';
  else if (ready === desired) status = 'Running';
  else if (ready > desired) status = 'ScalingDown';
  else if (ready === 0) status = 'Creating';
  else status = o.scalingEnabled ? 'ScalingUp' : 'Degraded';

  const changed = previous?.replicas !== undefined && previous.replicas !== ready;
  const lastScaleTime = changed ? o.now.toISOString() : previous?.lastScaleTime;
  const lastScaleDirection = changed ? (ready > (previous?.replicas ?? 0) ? 'up' : 'down') : previous?.lastScaleDirection;
  const okCount = conditions.filter((c) => c.status === 'True').length;
  return {
    conditions,
    status,
    readyReplicas: ready,
    totalReplicas: total,
    ...(o.pods ? { failingPods: o.pods.failing, pendingReplicas: o.pods.pending } : {}),
    replicas: ready,
    desiredReplicas: desired,
    readyReplicasSummary: `${ready}/${total}`,
    readySummary: `${okCount}/${conditions.length}`,
    replicasSummary: `${ready}/${desired}`,
    ...(lastScaleTime ? { lastScaleTime, lastScaleDirection, lastScaleFormatted: `${lastScaleTime.replace('T', ' ').slice(0, 19)} (${lastScaleDirection})` } : { lastScaleFormatted: '-' }),
    scalingMode: o.scalingEnabled ? 'KEDA' : 'Manual',
    transportStatus: o.transport.ready ? 'Ready' : 'NotReady',
    ...(o.transport.depth ? { queuedMessages: o.transport.depth.ready, processingMessages: o.transport.depth.inFlight } : {}),
    ...(o.workload ? { workloadRef: { apiVersion: isJob ? 'batch/v1' : 'apps/v1', kind: o.workloadKind, name: o.name, namespace: o.namespace } } : {}),
    ...(o.scalingEnabled && o.scaling?.ready ? { scaledObjectRef: { name: o.name, namespace: o.namespace } } : {}),
    observedGeneration: o.generation,
  };
}

/** Statuses that mean something is wrong: their transition Events are Warnings. */
const HEALTHY = new Set(['Creating', 'Running', 'Napping', 'ScalingUp', 'ScalingDown', 'Terminating']);

/** The Events a status change deserves: the transition itself, a newly invalid spec, a queue made ready. */
export function statusEvents(previous: AsyncActorStatus | undefined, next: AsyncActorStatus, o: Observation): ActorEvent[] {
  const find = (s: AsyncActorStatus | undefined, type: string) => s?.conditions?.find((c) => c.type === type);
  const events: ActorEvent[] = [];
  const workload = find(next, 'WorkloadReady');
  if (o.specErrors.length && find(previous, 'WorkloadReady')?.message !== workload?.message) {
    events.push({ type: 'Warning', reason: 'InvalidSpec', action: 'Validate', note: o.specErrors.join('; ') });
  }
  if (o.transport.managed && o.transport.ready && find(previous, 'TransportReady')?.status !== 'True') {
    events.push({ type: 'Normal', reason: 'QueueCreated', action: 'CreateQueue', note: o.transport.message });
  }
  if (previous?.status !== next.status && next.status) {
    const why = next.conditions?.find((c) => c.status === 'False')?.message ?? workload?.message ?? '';
    events.push({ type: HEALTHY.has(next.status) ? 'Normal' : 'Warning', reason: next.status, action: 'UpdateStatus', note: `${previous?.status ?? 'new'} → ${next.status}: ${why}` });
  }
  return events;
}
