import { describe, expect, test } from 'vitest';
import { computeStatus, type Observation } from './status.ts';

const t0 = new Date('2026-01-01T00:00:00Z');
const base: Observation = {
  generation: 3,
  deleting: false,
  scalingEnabled: false,
  workloadKind: 'Deployment',
  namespace: 'ml',
  name: 'a',
  specErrors: [],
  transport: { ready: true, message: 'ok', depth: { ready: 4, inFlight: 1 } },
  workload: { spec: { replicas: 2 }, status: { replicas: 2, readyReplicas: 2 } },
  now: t0,
};

describe('computeStatus', () => {
  test.each([
    ['Running', {}],
    ['Degraded', { workload: { spec: { replicas: 2 }, status: { replicas: 2, readyReplicas: 1 } } }],
    ['ScalingUp', { scalingEnabled: true, scaling: { ready: true, message: '' }, workload: { spec: { replicas: 3 }, status: { replicas: 3, readyReplicas: 1 } } }],
    ['Napping', { scalingEnabled: true, scaling: { ready: true, message: '' }, workload: { spec: { replicas: 0 }, status: {} } }],
    ['Creating', { workload: undefined }],
    ['ConfigError', { specErrors: ['spec.transport: unknown transport "kafka"'] }],
    ['TransportError', { transport: { ready: false, message: 'connection refused' } }],
    ['ScalingError', { scalingEnabled: true, scaling: { ready: false, message: 'KEDA missing' } }],
    ['Terminating', { deleting: true }],
  ] as [string, Partial<Observation>][])('%s', (expected, change) => {
    expect(computeStatus(undefined, { ...base, ...change }).status).toBe(expected);
  });

  test("the original's display fields", () => {
    expect(computeStatus(undefined, base)).toMatchObject({
      readyReplicas: 2,
      totalReplicas: 2,
      replicas: 2,
      desiredReplicas: 2,
      readyReplicasSummary: '2/2',
      replicasSummary: '2/2',
      readySummary: '2/2',
      scalingMode: 'Manual',
      transportStatus: 'Ready',
      queuedMessages: 4,
      processingMessages: 1,
      workloadRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'a', namespace: 'ml' },
      observedGeneration: 3,
      lastScaleFormatted: '-',
    });
  });

  test('a condition keeps its lastTransitionTime until its status changes; a scale is recorded once', () => {
    const first = computeStatus(undefined, base);
    const later = new Date('2026-01-01T00:05:00Z');
    const same = computeStatus(first, { ...base, now: later });
    expect(same).toEqual(first);
    const scaled = computeStatus(first, { ...base, now: later, workload: { spec: { replicas: 3 }, status: { replicas: 3, readyReplicas: 3 } } });
    expect(scaled).toMatchObject({ lastScaleTime: later.toISOString(), lastScaleDirection: 'up', lastScaleFormatted: '2026-01-01 00:05:00 (up)' });
    expect(scaled.conditions!.find((c) => c.type === 'WorkloadReady')!.lastTransitionTime).toBe(t0.toISOString());
    const broken = computeStatus(scaled, { ...base, now: later, transport: { ready: false, message: 'down' } });
    expect(broken.conditions!.find((c) => c.type === 'TransportReady')).toMatchObject({ status: 'False', lastTransitionTime: later.toISOString(), message: 'down' });
  });
});
