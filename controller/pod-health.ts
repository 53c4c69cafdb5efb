/**
 * What an actor's pods say about it: how many are failing and pending, and the first problem worth a
 * status of its own, with the pod and container named. The classes are the original operator's
 * (reference §2.7 and §2.9): ImagePullError, RuntimeError (the asya-runtime container crash-looping),
 * SidecarError (asya-sidecar crash-looping, also as a native sidecar init container), PendingResources
 * (unschedulable), VolumeError (a volume that cannot be mounted), ConfigError (a ConfigMap or Secret the pod
 * refers to is missing) and WorkloadError (any other container failing). Pods being deleted are ignored.
 */
import { RUNTIME_CONTAINER, SIDECAR_CONTAINER } from '../api/index.ts';

interface ContainerStatus {
  name: string;
  ready?: boolean;
  restartCount?: number;
  state?: { waiting?: { reason?: string; message?: string }; terminated?: { reason?: string; exitCode?: number } };
}

export interface Pod {
  metadata: { name: string; namespace?: string; deletionTimestamp?: string; labels?: Record<string, string> };
  status?: {
    phase?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
  };
}

/** In order of precedence: when pods fail in several ways, the status names the first. */
export const POD_PROBLEMS = ['ImagePullError', 'RuntimeError', 'SidecarError', 'VolumeError', 'ConfigError', 'PendingResources', 'WorkloadError'] as const;
export type PodProblem = (typeof POD_PROBLEMS)[number];

export interface PodHealth {
  failing: number;
  pending: number;
  problem?: { status: PodProblem; message: string };
}

const IMAGE_PULL = new Set(['ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'ErrImageNeverPull']);
const CRASHING = new Set(['CrashLoopBackOff', 'RunContainerError', 'CreateContainerError']);
const VOLUME = /MountVolume|VolumeMount|FailedMount|FailedAttachVolume/;

function containerProblem(pod: string, c: ContainerStatus): { status: PodProblem; message: string } | undefined {
  const waiting = c.state?.waiting;
  if (!waiting?.reason) return undefined;
  const where = `pod ${pod}, container ${c.name}: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`;
  if (IMAGE_PULL.has(waiting.reason)) return { status: 'ImagePullError', message: where };
  if (VOLUME.test(waiting.message ?? '')) return { status: 'VolumeError', message: where };
  if (waiting.reason === 'CreateContainerConfigError') return { status: 'ConfigError', message: where };
  if (CRASHING.has(waiting.reason)) {
    const status = c.name === RUNTIME_CONTAINER ? 'RuntimeError' : c.name === SIDECAR_CONTAINER ? 'SidecarError' : 'WorkloadError';
    return { status, message: `${where} (${c.restartCount ?? 0} restarts)` };
  }
  return undefined;
}

function podProblem(pod: Pod): { status: PodProblem; message: string } | undefined {
  const name = pod.metadata.name;
  const found: { status: PodProblem; message: string }[] = [];
  for (const c of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const p = containerProblem(name, c);
    if (p) found.push(p);
  }
  for (const cond of pod.status?.conditions ?? []) {
    if (cond.status !== 'False') continue;
    if (cond.type === 'PodScheduled' && cond.reason === 'Unschedulable') found.push({ status: 'PendingResources', message: `pod ${name} cannot be scheduled: ${cond.message ?? cond.reason}` });
    else if (VOLUME.test(cond.message ?? '')) found.push({ status: 'VolumeError', message: `pod ${name}: ${cond.message}` });
  }
  if (pod.status?.phase === 'Failed' && found.length === 0) found.push({ status: 'WorkloadError', message: `pod ${name} failed` });
  return first(found);
}

function first(problems: { status: PodProblem; message: string }[]) {
  return [...problems].sort((a, b) => POD_PROBLEMS.indexOf(a.status) - POD_PROBLEMS.indexOf(b.status))[0];
}

const isReady = (pod: Pod) => pod.status?.phase === 'Running' && pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

export function podHealth(pods: Pod[]): PodHealth {
  let failing = 0;
  let pending = 0;
  const problems: { status: PodProblem; message: string }[] = [];
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp || pod.status?.phase === 'Succeeded') continue;
    const problem = podProblem(pod);
    if (problem) {
      failing++;
      problems.push(problem);
    } else if (!isReady(pod)) pending++;
  }
  const problem = first(problems);
  return { failing, pending, ...(problem ? { problem } : {}) };
}
