/**
 * The controller tells the truth about an actor: its pods' failures in status and in Events (and recovery
 * clears them), Events deduplicated into a series, and a steady state served from the informer caches with
 * no API reads at all. The fake API server stands in for Kubernetes (it lists what it does not model); the
 * actors' queues are on the real RabbitMQ.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { transportQueueAdmin, type QueueAdmin } from '../controller/queues.ts';
import { queueName } from '../protocol/queues.ts';
import { createTransport } from '../transport/factory.ts';
import { MemoryTransport } from '../transport/memory.ts';
import type { Transport } from '../transport/transport.ts';
import { ControllerHarness, reconciles } from './support/controller-harness.ts';
import { DEFAULT_RESOURCES } from './support/fake-kube-api.ts';
import { RABBITMQ_URL } from './support/rabbitmq.ts';
import { deleteQueuesWithDeadLetters } from './support/queues.ts';

const NS = 'health';
const prefix = `hl${process.pid}`;
let h: ControllerHarness;
let broker: Transport;
const made: string[] = [];

beforeAll(async () => {
  broker = await createTransport({ ASYA_TRANSPORT: 'rabbitmq', ASYA_RABBITMQ_URL: RABBITMQ_URL });
});
afterAll(async () => {
  await broker.close();
});
afterEach(async () => {
  await h?.stop();
  await deleteQueuesWithDeadLetters(broker, made.splice(0).map(queueName));
});

const rabbitmq = () => transportQueueAdmin({ ASYA_RABBITMQ_URL: RABBITMQ_URL });
const memory = (): QueueAdmin => {
  const m = new MemoryTransport();
  return transportQueueAdmin({}, async () => m);
};

type PodStatus = Record<string, unknown>;
const READY: PodStatus = {
  phase: 'Running',
  conditions: [{ type: 'PodScheduled', status: 'True' }, { type: 'Ready', status: 'True' }],
  containerStatuses: [
    { name: 'asya-runtime', ready: true, restartCount: 0, state: { running: {} } },
    { name: 'asya-sidecar', ready: true, restartCount: 0, state: { running: {} } },
  ],
};
const waiting = (container: string, reason: string, message: string): PodStatus => ({
  phase: 'Running',
  conditions: [{ type: 'Ready', status: 'False', reason: 'ContainersNotReady' }],
  containerStatuses: [
    { name: container, ready: false, restartCount: 4, state: { waiting: { reason, message } } },
    { name: container === 'asya-runtime' ? 'asya-sidecar' : 'asya-runtime', ready: true, restartCount: 0, state: { running: {} } },
  ],
});

/** Each failure class as the kubelet and scheduler report it in the pod's status. */
const FAILURES: [string, PodStatus, string][] = [
  ['ImagePullError', waiting('asya-runtime', 'ImagePullBackOff', 'Back-off pulling image "scorer:1"'), 'container asya-runtime: ImagePullBackOff'],
  ['RuntimeError', waiting('asya-runtime', 'CrashLoopBackOff', 'back-off 40s restarting failed container'), 'container asya-runtime: CrashLoopBackOff'],
  ['SidecarError', waiting('asya-sidecar', 'CrashLoopBackOff', 'back-off 40s restarting failed container'), 'container asya-sidecar: CrashLoopBackOff'],
  [
    'PendingResources',
    { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient cpu.' }] },
    '3 Insufficient cpu',
  ],
  [
    'VolumeError',
    {
      phase: 'Pending',
      conditions: [{ type: 'ContainersReady', status: 'False', reason: 'ContainersNotReady', message: 'MountVolume.SetUp failed for volume "models" : configmap "models" not found' }],
    },
    'MountVolume.SetUp failed for volume "models"',
  ],
];

describe('pod health', () => {
  test('each pod failure class shows in status and in an Event naming pod and container; recovery clears it', async () => {
    h = await new ControllerHarness(NS).begin();
    const name = `${prefix}-pods`;
    made.push(name);
    const c = await h.start(rabbitmq());
    await h.create(name);
    await vi.waitFor(() => expect(h.api.get('Deployment', NS, name)).toBeDefined(), { timeout: 15_000 });
    h.api.setStatus('Deployment', NS, name, { replicas: 1, readyReplicas: 1 });
    const pod = `${name}-7d4b9-x2x`;
    h.api.put({ apiVersion: 'v1', kind: 'Pod', metadata: { name: pod, namespace: NS, labels: { 'asya.sh/asya': name, app: name } }, status: READY });
    await vi.waitFor(() => expect(h.statusOf(name)).toMatchObject({ status: 'Running', failingPods: 0, pendingReplicas: 0 }), { timeout: 15_000 });

    for (const [status, podStatus, detail] of FAILURES) {
      h.api.setStatus('Pod', NS, pod, podStatus);
      await vi.waitFor(() => expect(h.statusOf(name)).toMatchObject({ status, failingPods: 1 }), { timeout: 15_000 });
      const workload = h.condition(name, 'WorkloadReady')!;
      expect(workload).toMatchObject({ status: 'False', reason: status });
      expect(workload.message).toContain(`pod ${pod}`);
      expect(workload.message).toContain(detail);
      await c.idle();
      const event = h.events(name).find((e) => e.reason === status)!;
      expect(event).toMatchObject({ type: 'Warning', action: 'UpdateStatus', regarding: { uid: h.api.get('AsyncActor', NS, name)!.metadata.uid } });
      expect(event.note).toContain(`pod ${pod}`);

      h.api.setStatus('Pod', NS, pod, READY);
      await vi.waitFor(() => expect(h.statusOf(name)).toMatchObject({ status: 'Running', failingPods: 0 }), { timeout: 15_000 });
      expect(h.condition(name, 'WorkloadReady')).toMatchObject({ status: 'True', reason: 'Ready' });
    }

    // A pod still being scheduled is pending, not failing.
    h.api.put({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `${pod}-2`, namespace: NS, labels: { 'asya.sh/asya': name } }, status: { phase: 'Pending' } });
    await vi.waitFor(() => expect(h.statusOf(name)).toMatchObject({ status: 'Running', failingPods: 0, pendingReplicas: 1 }), { timeout: 15_000 });
  }, 120_000);

  test('a repeated event is one Event with a series count, as kubectl expects', async () => {
    h = await new ControllerHarness(NS).begin();
    const name = `${prefix}-dedup`;
    made.push(name);
    const c = await h.start(rabbitmq());
    await h.create(name);
    await vi.waitFor(() => expect(h.api.get('Deployment', NS, name)).toBeDefined(), { timeout: 15_000 });
    h.api.setStatus('Deployment', NS, name, { replicas: 1, readyReplicas: 1 });
    const pod = `${name}-abc`;
    h.api.put({ apiVersion: 'v1', kind: 'Pod', metadata: { name: pod, namespace: NS, labels: { 'asya.sh/asya': name } }, status: READY });
    await vi.waitFor(() => expect(h.statusOf(name)?.status).toBe('Running'), { timeout: 15_000 });
    for (let round = 0; round < 3; round++) {
      h.api.setStatus('Pod', NS, pod, FAILURES[0]![1]);
      await vi.waitFor(() => expect(h.statusOf(name)?.status).toBe('ImagePullError'), { timeout: 15_000 });
      h.api.setStatus('Pod', NS, pod, READY);
      await vi.waitFor(() => expect(h.statusOf(name)?.status).toBe('Running'), { timeout: 15_000 });
    }
    await c.idle();
    const pulls = h.events(name).filter((e) => e.reason === 'ImagePullError');
    expect(pulls).toHaveLength(1);
    expect(pulls[0]!.series?.count).toBe(3);
    // The queue the controller declared, and the first status, each have their own Event.
    expect(h.events(name).map((e) => e.reason)).toEqual(expect.arrayContaining(['QueueCreated', 'Creating', 'Running', 'ImagePullError']));
  }, 120_000);

  test('an invalid spec and a failing reconcile are Warning Events; deleting the queue is a Normal one', async () => {
    h = await new ControllerHarness(NS).begin();
    const bad = `${prefix}-bad`;
    const queues = memory();
    let brokerDown = true;
    const flaky: QueueAdmin = { ...queues, manages: true, remove: async (a) => (brokerDown ? Promise.reject(new Error('broker unreachable')) : queues.remove(a)) };
    const c = await h.start(flaky);
    await h.create(bad, { scaling: { enabled: true, minReplicas: 9, maxReplicas: 2 } });
    await vi.waitFor(() => expect(h.events(bad).map((e) => e.reason)).toContain('InvalidSpec'), { timeout: 15_000 });
    expect(h.events(bad).find((e) => e.reason === 'InvalidSpec')).toMatchObject({ type: 'Warning', note: 'spec.scaling.minReplicas: minReplicas (9) must not exceed maxReplicas (2)' });

    const good = `${prefix}-good`;
    await h.create(good);
    await vi.waitFor(() => expect(h.statusOf(good)?.transportStatus).toBe('Ready'), { timeout: 15_000 });
    await h.request('DELETE', h.actorPath(good));
    // The broker is down: the deletion is retried, and each failure is the same Event, counted.
    await vi.waitFor(() => expect(h.events(good).find((e) => e.reason === 'ReconcileError')?.series?.count).toBeGreaterThanOrEqual(2), { timeout: 15_000 });
    expect(h.events(good).filter((e) => e.reason === 'ReconcileError')).toHaveLength(1);
    expect(h.events(good).find((e) => e.reason === 'ReconcileError')).toMatchObject({ type: 'Warning', note: 'broker unreachable' });
    brokerDown = false;
    await vi.waitFor(() => expect(h.api.get('AsyncActor', NS, good)).toBeUndefined(), { timeout: 15_000 });
    await c.idle();
    expect(h.events(good).find((e) => e.reason === 'QueueDeleted')).toMatchObject({ type: 'Normal', note: `queue asya-${good} deleted` });
  }, 60_000);
});

describe('kinds the API server does not serve', () => {
  test('without KEDA the controller still starts and runs actors; a scaled actor says KEDA is missing', async () => {
    h = await new ControllerHarness(NS, DEFAULT_RESOURCES.filter((r) => r.group !== 'keda.sh')).begin();
    await h.start(memory());
    const plain = `${prefix}-nokeda`;
    const scaled = `${prefix}-nokeda-scaled`;
    await h.create(plain);
    await h.create(scaled, { scaling: { enabled: true } });
    await vi.waitFor(() => expect(h.api.get('Deployment', NS, plain)).toBeDefined(), { timeout: 15_000 });
    await vi.waitFor(() => expect(h.statusOf(scaled)?.status).toBe('ScalingError'), { timeout: 15_000 });
    expect(h.condition(scaled, 'ScalingReady')?.message).toContain('is KEDA installed?');
    await vi.waitFor(() => expect(h.statusOf(plain)?.status).toBe('Creating'), { timeout: 15_000 });
  }, 60_000);
});

describe('actors written for the original', () => {
  test('an actor naming the original crew handler runs our crew, with a Warning Event once per spec change', async () => {
    h = await new ControllerHarness(NS).begin();
    const c = await h.start(memory());
    const name = 'happy-end';
    const container = { name: 'asya-runtime', image: 'asya-crew:latest', env: [{ name: 'ASYA_HANDLER', value: 'handlers.end_handlers.happy_end_handler' }, { name: 'ASYA_HANDLER_MODE', value: 'envelope' }] };
    await h.create(name, { workload: { template: { spec: { containers: [container] } } } });
    await vi.waitFor(() => expect(h.api.get('Deployment', NS, name)).toBeDefined(), { timeout: 15_000 });
    const runtime = (h.api.get('Deployment', NS, name)!.spec as { template: { spec: { containers: { name: string; image: string; env: { name: string; value?: string }[] }[] } } }).template.spec.containers[0]!;
    expect(runtime.image).toMatch(/^asya:/);
    expect(runtime.env).toContainEqual({ name: 'ASYA_HANDLER', value: '/app/crew/happy-end.ts#handle' });
    await vi.waitFor(() => expect(h.statusOf(name)?.status).toBeDefined(), { timeout: 15_000 });
    const before = await reconciles(c);
    await vi.waitFor(async () => expect(await reconciles(c)).toBeGreaterThanOrEqual(before + 3), { timeout: 15_000 });
    await c.idle();
    const warnings = h.events(name).filter((e) => e.reason === 'SpecWarning');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.series).toBeUndefined();
    expect(warnings[0]!.note).toContain("is the original crew's happy-end handler: running Asya's crew (/app/crew/happy-end.ts#handle)");
  }, 60_000);
});

describe('informer caches', () => {
  /** Requests other than watches and the leader's Lease renewals, since request number `since`. */
  const apiCalls = (since: number) => h.api.requests.slice(since).filter((r) => !r.path.includes('watch=true') && !r.path.includes('/leases/'));

  test('a steady-state resync makes no API calls at all: zero lists, zero reads, zero writes per reconcile', async () => {
    h = await new ControllerHarness(NS).begin();
    const c = await h.start(memory());
    const names = [0, 1, 2].map((i) => `${prefix}-steady-${i}`);
    for (const name of names) await h.create(name);
    for (const name of names) {
      await vi.waitFor(() => expect(h.api.get('Deployment', NS, name)).toBeDefined(), { timeout: 15_000 });
      h.api.setStatus('Deployment', NS, name, { replicas: 1, readyReplicas: 1 });
      h.api.put({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `${name}-p`, namespace: NS, labels: { 'asya.sh/asya': name } }, status: READY });
    }
    await vi.waitFor(() => expect(names.map((n) => h.statusOf(n)?.status)).toEqual(['Running', 'Running', 'Running']), { timeout: 15_000 });
    await c.idle();
    const since = h.api.requests.length;
    const before = await reconciles(c);
    // Three resync passes over the three actors.
    await vi.waitFor(async () => expect(await reconciles(c)).toBeGreaterThanOrEqual(before + 9), { timeout: 30_000, interval: 100 });
    expect(apiCalls(since)).toEqual([]);
  }, 60_000);

  test('1,000 actors resync without a burst of lists', async () => {
    h = await new ControllerHarness(NS).begin();
    const c = await h.start(memory(), { ASYA_RESYNC_INTERVAL: '2s', ASYA_MAX_CONCURRENT_RECONCILES: '20' });
    const names = Array.from({ length: 1000 }, (_, i) => `${prefix}-k-${i}`);
    for (const name of names) await h.create(name);
    await vi.waitFor(() => expect(names.filter((n) => h.statusOf(n)?.status !== undefined)).toHaveLength(1000), { timeout: 300_000, interval: 1000 });
    await c.idle();
    expect(c.caches.of('asya.sh/v1alpha1', 'AsyncActor')!.size).toBe(1000);
    const since = h.api.requests.length;
    const before = await reconciles(c);
    await vi.waitFor(async () => expect(await reconciles(c)).toBeGreaterThanOrEqual(before + 1000), { timeout: 300_000, interval: 500 });
    const lists = apiCalls(since).filter((r) => r.method === 'GET');
    expect(lists).toEqual([]);
  }, 900_000);
});
