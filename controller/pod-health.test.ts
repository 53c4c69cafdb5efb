import { describe, expect, test } from 'vitest';
import { podHealth, type Pod } from './pod-health.ts';

const pod = (name: string, status: Pod['status'], extra: Partial<Pod['metadata']> = {}): Pod => ({ metadata: { name, ...extra }, status });
const waiting = (container: string, reason: string, message = '', init = false): Pod['status'] => ({
  phase: 'Pending',
  [init ? 'initContainerStatuses' : 'containerStatuses']: [{ name: container, restartCount: 6, state: { waiting: { reason, message } } }],
});
const ready: Pod['status'] = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] };

describe('podHealth', () => {
  test.each([
    ['ImagePullError', waiting('asya-runtime', 'ErrImagePull', 'manifest unknown'), 'pod p, container asya-runtime: ErrImagePull: manifest unknown'],
    ['ImagePullError', waiting('asya-sidecar', 'ImagePullBackOff'), 'pod p, container asya-sidecar: ImagePullBackOff'],
    ['RuntimeError', waiting('asya-runtime', 'CrashLoopBackOff'), 'pod p, container asya-runtime: CrashLoopBackOff (6 restarts)'],
    ['SidecarError', waiting('asya-sidecar', 'CrashLoopBackOff'), 'pod p, container asya-sidecar: CrashLoopBackOff (6 restarts)'],
    // A native sidecar is an init container with restartPolicy Always: its crash loop is still the sidecar's.
    ['SidecarError', waiting('asya-sidecar', 'CrashLoopBackOff', '', true), 'container asya-sidecar'],
    ['WorkloadError', waiting('metrics-exporter', 'CrashLoopBackOff'), 'container metrics-exporter'],
    ['ConfigError', waiting('asya-runtime', 'CreateContainerConfigError', 'secret "db" not found'), 'secret "db" not found'],
    ['VolumeError', waiting('asya-runtime', 'CreateContainerConfigError', 'MountVolume.SetUp failed for volume "m"'), 'MountVolume.SetUp failed'],
    ['PendingResources', { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes: Insufficient memory' }] }, 'pod p cannot be scheduled: 0/1 nodes: Insufficient memory'],
    ['WorkloadError', { phase: 'Failed' }, 'pod p failed'],
  ] as [string, Pod['status'], string][])('%s', (status, podStatus, message) => {
    const health = podHealth([pod('p', podStatus)]);
    expect(health).toMatchObject({ failing: 1, pending: 0, problem: { status } });
    expect(health.problem!.message).toContain(message);
  });

  test('counts ready, pending and failing pods; the most telling problem wins; pods being deleted are ignored', () => {
    const health = podHealth([
      pod('a', ready),
      pod('b', { phase: 'Pending' }),
      pod('c', waiting('asya-runtime', 'CrashLoopBackOff')),
      pod('d', waiting('asya-runtime', 'ImagePullBackOff')),
      pod('e', waiting('asya-runtime', 'ErrImagePull'), { deletionTimestamp: '2026-01-01T00:00:00Z' }),
      pod('f', { phase: 'Succeeded' }),
    ]);
    expect(health).toEqual({ failing: 2, pending: 1, problem: { status: 'ImagePullError', message: 'pod d, container asya-runtime: ImagePullBackOff' } });
    expect(podHealth([pod('a', ready)])).toEqual({ failing: 0, pending: 0 });
    // Waiting to start (ContainerCreating) is pending, not failing.
    expect(podHealth([pod('a', waiting('asya-runtime', 'ContainerCreating'))])).toEqual({ failing: 0, pending: 1 });
  });
});
