/**
 * The live controller against the in-process fake API server (test/support/fake-kube-api.ts, which lists
 * what it does not model), with queues provisioned on the real RabbitMQ.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { startController, type RunningController } from '../controller/controller.ts';
import { FINALIZER } from '../controller/reconciler.ts';
import { transportQueueAdmin } from '../controller/queues.ts';
import { createLogger } from '../protocol/index.ts';
import { expectProcessMetrics } from './support/process-metrics.ts';
import { createTransport } from '../transport/factory.ts';
import { MemoryTransport } from '../transport/memory.ts';
import type { Transport } from '../transport/transport.ts';
import { ControllerHarness, reconciles, writePlatformFile } from './support/controller-harness.ts';
import type { FakeKubeApi } from './support/fake-kube-api.ts';
import { startMoto } from './support/moto.ts';
import { NATS_URL } from './support/nats.ts';
import { RABBITMQ_URL } from './support/rabbitmq.ts';

const NS = 'ml';
const prefix = `ctl${process.pid}`;
let h: ControllerHarness | undefined;
let api: FakeKubeApi;
let url: string;
let broker: Transport;
const running: RunningController[] = [];

beforeAll(async () => {
  broker = await createTransport({ ASYA_TRANSPORT: 'rabbitmq', ASYA_RABBITMQ_URL: RABBITMQ_URL });
});
afterAll(async () => {
  await broker.close();
});
/** Actors whose queues a test made on the shared broker; dropped once the controllers stop re-creating them. */
const made: string[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((c) => c.stop()));
  await h?.stop();
  await Promise.all(made.splice(0).flatMap((n) => [broker.deleteQueue(`asya-${n}`), broker.deleteQueue(`asya-${n}-dlq`)]));
});

/** A fresh fake API server for one test. */
async function fresh(): Promise<void> {
  h = await new ControllerHarness(NS).begin();
  api = h.api;
  url = h.url;
}

const config = (extra: Record<string, string> = {}) => h!.config(extra);

/** A fresh API and a controller watching NS, with `transport` (one line of spec.transports) as its platform. */
async function startWithPlatform(env: Record<string, string>, transport: string): Promise<void> {
  await fresh();
  const platform = writePlatformFile(`apiVersion: fn.asya.sh/v1alpha1\nkind: AsyaPlatform\nmetadata: {name: p}\nspec:\n  transports:\n    ${transport}\n`);
  const c = await startController({
    config: config({ ASYA_WATCH_NAMESPACES: NS, ASYA_PLATFORM_CONFIG: platform }),
    queues: transportQueueAdmin(env),
    log: createLogger('ERROR', 'test.controller'),
  });
  running.push(c);
  await c.ready;
}

async function start(extra: Record<string, string> = {}, queues = transportQueueAdmin({ ASYA_RABBITMQ_URL: RABBITMQ_URL })): Promise<RunningController> {
  const c = await startController({ config: config(extra), queues, log: createLogger('ERROR', 'test.controller') });
  running.push(c);
  return c;
}

async function kube(method: string, path: string, body?: unknown, contentType = 'application/json') {
  if (method === 'POST' && path.endsWith('/asyncactors')) made.push((body as { metadata: { name: string } }).metadata.name);
  const res = await fetch(`${url}${path}`, { method, headers: { 'content-type': contentType }, ...(body ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const actorPath = (name = '') => `/apis/asya.sh/v1alpha1/namespaces/${NS}/asyncactors${name ? `/${name}` : ''}`;

function actor(name: string, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: 'asya.sh/v1alpha1',
    kind: 'AsyncActor',
    metadata: { name, namespace: NS },
    spec: {
      transport: 'rabbitmq',
      workload: { template: { spec: { containers: [{ name: 'asya-runtime', image: 'scorer:1', env: [{ name: 'ASYA_HANDLER', value: 'scorer.process' }] }] } } },
      ...spec,
    },
  };
}

type Status = { status?: string; conditions?: { type: string; status: string; reason: string; message: string }[]; [k: string]: unknown };
const statusOf = (name: string) => api.get('AsyncActor', NS, name)?.status as Status | undefined;
const condition = (name: string, type: string) => statusOf(name)?.conditions?.find((c) => c.type === type);
const queueExists = async (name: string) =>
  broker.queueDepth(`asya-${name}`).then(
    () => true,
    () => false,
  );

describe('asya controller', () => {
  beforeAll(() => {});

  test('create: the Deployment, the ScaledObject and a real RabbitMQ queue appear; status and finalizer are set', async () => {
    await fresh();
    const name = `${prefix}-create`;
    const c = await start();
    await c.ready;
    expect((await kube('POST', actorPath(), actor(name, { scaling: { enabled: true, maxReplicas: 7 } }))).status).toBe(201);

    await vi.waitFor(() => expect(statusOf(name)?.status).toBe('Napping'), { timeout: 15_000 });
    const deployment = api.get('Deployment', NS, name)!;
    const owner = (deployment.metadata.ownerReferences as { kind: string; controller: boolean; uid: string }[])[0]!;
    expect(owner).toMatchObject({ kind: 'AsyncActor', controller: true, uid: api.get('AsyncActor', NS, name)!.metadata.uid });
    const containers = (deployment.spec as { template: { spec: { containers: { name: string }[] } } }).template.spec.containers.map((x) => x.name);
    expect(containers).toEqual(['asya-runtime', 'asya-sidecar']);
    expect(api.get('ScaledObject', NS, name)?.spec).toMatchObject({ maxReplicaCount: 7 });
    expect(api.get('ConfigMap', NS, 'asya-runtime')).toBeDefined();
    expect(await queueExists(name)).toBe(true);
    expect(api.get('AsyncActor', NS, name)!.metadata.finalizers).toEqual([FINALIZER]);
    expect(condition(name, 'TransportReady')).toMatchObject({ status: 'True' });
    expect(condition(name, 'ScalingReady')).toMatchObject({ status: 'True' });
    expect(statusOf(name)).toMatchObject({ scalingMode: 'KEDA', transportStatus: 'Ready', workloadRef: { kind: 'Deployment', name } });
    // SSA with our field manager, as the issue asks.
    expect(api.requests.some((r) => r.method === 'PATCH' && r.path.includes('fieldManager=asya-controller') && r.contentType?.startsWith('application/apply-patch'))).toBe(true);

    // The Deployment controller (not modelled by the fake) reports ready pods: the actor follows.
    await kube('PATCH', actorPath(name), { spec: { scaling: { enabled: false } } }, 'application/merge-patch+json');
    await vi.waitFor(() => expect(api.get('ScaledObject', NS, name)).toBeUndefined(), { timeout: 15_000 });
    api.setStatus('Deployment', NS, name, { replicas: 1, readyReplicas: 1 });
    await vi.waitFor(() => expect(statusOf(name)).toMatchObject({ status: 'Running', replicas: 1, desiredReplicas: 1, scalingMode: 'Manual' }), { timeout: 15_000 });
    expect(condition(name, 'WorkloadReady')).toMatchObject({ status: 'True' });
    expect(condition(name, 'ScalingReady')).toBeUndefined();
  });

  test('update propagates; delete removes children and the queue, then releases the finalizer', async () => {
    await fresh();
    const name = `${prefix}-lifecycle`;
    const c = await start();
    await c.ready;
    await kube('POST', actorPath(), actor(name, { timeout: { processing: 30 } }));
    await vi.waitFor(() => expect(api.get('Deployment', NS, name)).toBeDefined(), { timeout: 15_000 });
    const env = () => JSON.stringify(api.get('Deployment', NS, name)?.spec);
    expect(env()).toContain('"name":"ASYA_RUNTIME_TIMEOUT","value":"30s"');

    await kube('PATCH', actorPath(name), { spec: { timeout: { processing: 90 } } }, 'application/merge-patch+json');
    await vi.waitFor(() => expect(env()).toContain('"name":"ASYA_RUNTIME_TIMEOUT","value":"90s"'), { timeout: 15_000 });
    await vi.waitFor(async () => expect(await queueExists(name)).toBe(true), { timeout: 15_000 });

    await kube('DELETE', actorPath(name));
    await vi.waitFor(() => expect(api.get('AsyncActor', NS, name)).toBeUndefined(), { timeout: 15_000 });
    expect(api.get('Deployment', NS, name)).toBeUndefined();
    expect(await queueExists(name)).toBe(false);
  });

  test('an invalid spec gives a False condition with a clear message and no workload', async () => {
    await fresh();
    const name = `${prefix}-invalid`;
    const c = await start();
    await c.ready;
    const bad = actor(name, { scaling: { enabled: true, minReplicas: 9, maxReplicas: 2 } });
    await kube('POST', actorPath(), bad);
    await vi.waitFor(() => expect(statusOf(name)?.status).toBe('ConfigError'), { timeout: 15_000 });
    expect(condition(name, 'WorkloadReady')).toMatchObject({
      status: 'False',
      reason: 'InvalidSpec',
      message: 'spec.scaling.minReplicas: minReplicas (9) must not exceed maxReplicas (2)',
    });
    expect(api.get('Deployment', NS, name)).toBeUndefined();
    expect(await queueExists(name)).toBe(false);

    // Fixing the spec brings the workload.
    await kube('PATCH', actorPath(name), { spec: { scaling: { minReplicas: 1 } } }, 'application/merge-patch+json');
    await vi.waitFor(() => expect(api.get('Deployment', NS, name)).toBeDefined(), { timeout: 15_000 });
    await vi.waitFor(() => expect(condition(name, 'WorkloadReady')?.reason).not.toBe('InvalidSpec'), { timeout: 15_000 });
  });

  test('50 actors reconcile, and a restarted controller makes no writes when nothing changed', async () => {
    await fresh();
    // A resync longer than a pass over 50 actors, so the work queue can be seen idle between passes.
    const slow = { ASYA_RESYNC_INTERVAL: '3s' };
    // The queues go to an in-memory broker here: a burst of 100 quorum queues is the broker's load test,
    // not the controller's (queue provisioning on RabbitMQ and SQS is proven by the other tests).
    const memory = new MemoryTransport();
    // Stopping a controller closes its admin connections, so each controller gets its own broker.
    const memoryQueues = (broker: MemoryTransport) => transportQueueAdmin({}, async () => broker);
    const c = await start(slow, memoryQueues(memory));
    await c.ready;
    const names = Array.from({ length: 50 }, (_, i) => `${prefix}-many-${i}`);
    for (const name of names) await kube('POST', actorPath(), actor(name, { scaling: { enabled: i(name) % 2 === 0 } }));
    await vi.waitFor(() => expect(names.filter((n) => statusOf(n)?.status !== undefined)).toHaveLength(50), { timeout: 60_000, interval: 200 });
    expect(api.list('Deployment').filter((d) => names.includes(d.metadata.name))).toHaveLength(50);
    expect(api.list('ScaledObject').filter((d) => names.includes(d.metadata.name))).toHaveLength(25);
    for (const name of names) await expect(memory.queueDepth(`asya-${name}`)).resolves.toMatchObject({ ready: 0 });
    await c.idle();
    await c.stop();
    running.splice(running.indexOf(c), 1);

    const before = api.requests.length;
    const again = await start(slow, memoryQueues(new MemoryTransport()));
    await again.ready;
    await again.idle();
    // And one periodic resync over every actor: at least 50 more reconciles than the start-up pass made.
    const afterStart = await reconciles(again);
    expect(afterStart).toBeGreaterThanOrEqual(50);
    await vi.waitFor(async () => expect(await reconciles(again)).toBeGreaterThanOrEqual(afterStart + 50), { timeout: 30_000, interval: 200 });
    await again.idle();
    const writes = api.writes(before).filter((w) => !w.path.includes('/leases'));
    expect(writes).toEqual([]);
    expect(api.requests.length - before).toBeGreaterThan(50);
  }, 240_000);

  test('after a 410 Gone the controller relists and still sees new actors', async () => {
    await fresh();
    const c = await start();
    await c.ready;
    const first = `${prefix}-before-gone`;
    await kube('POST', actorPath(), actor(first));
    await vi.waitFor(() => expect(api.get('Deployment', NS, first)).toBeDefined(), { timeout: 15_000 });
    const watches = () => api.requests.filter((r) => r.path.startsWith('/apis/asya.sh/v1alpha1/asyncactors?') && r.path.includes('watch=true')).length;
    const lists = () => api.requests.filter((r) => r.method === 'GET' && /^\/apis\/asya\.sh\/v1alpha1\/asyncactors(\?|$)/.test(r.path) && !r.path.includes('watch=true')).length;
    const listsBefore = lists();
    const watchesBefore = watches();
    api.compact(); // closes open watches; resuming from the old resourceVersion now answers 410
    const second = `${prefix}-after-gone`;
    await kube('POST', actorPath(), actor(second));
    await vi.waitFor(() => expect(api.get('Deployment', NS, second)).toBeDefined(), { timeout: 15_000 });
    expect(watches()).toBeGreaterThan(watchesBefore);
    expect(lists()).toBeGreaterThan(listsBefore);
  });

  test('leader election: only the Lease holder writes; a standby takes over when the leader stops', async () => {
    await fresh();
    const a = await start({ POD_NAME: 'replica-a' });
    await a.ready;
    const b = await start({ POD_NAME: 'replica-b' });
    const name = `${prefix}-leader`;
    await kube('POST', actorPath(), actor(name));
    await vi.waitFor(() => expect(api.get('Deployment', NS, name)).toBeDefined(), { timeout: 15_000 });
    expect((api.get('Lease', 'asya', 'asya-controller')!.spec as { holderIdentity: string }).holderIdentity).toBe('replica-a');
    let bLeads = false;
    void b.ready.then(() => (bLeads = true));
    // Replica b has asked for the Lease several times and stayed a standby. The leader reads and then
    // renews, so reads beyond the renewals are the standby's attempts.
    const leaseSince = api.requests.length;
    const leaseRequests = (method: string) => api.requests.slice(leaseSince).filter((r) => r.method === method && r.path.includes('/leases/asya-controller')).length;
    await vi.waitFor(() => expect(leaseRequests('GET') - leaseRequests('PUT')).toBeGreaterThanOrEqual(3), { timeout: 15_000 });
    expect(bLeads).toBe(false);

    await a.stop();
    running.splice(running.indexOf(a), 1);
    await b.ready;
    expect((api.get('Lease', 'asya', 'asya-controller')!.spec as { holderIdentity: string }).holderIdentity).toBe('replica-b');
    // The new leader reconciles: a change made now is applied by replica b.
    await kube('PATCH', actorPath(name), { spec: { timeout: { processing: 45 } } }, 'application/merge-patch+json');
    await vi.waitFor(() => expect(JSON.stringify(api.get('Deployment', NS, name)?.spec)).toContain('"value":"45s"'), { timeout: 15_000 });
  });

  test('SQS actors get their queue on SQS (moto); only the configured namespaces are watched', async () => {
    const moto = await startMoto();
    try {
      const env = { ASYA_SQS_ENDPOINT: moto.endpoint, ASYA_AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };
      await startWithPlatform(env, `sqs: {accountId: "123456789012", endpoint: ${moto.endpoint}}`);
      const name = `${prefix}-sqs`;
      await kube('POST', actorPath(), actor(name, { transport: 'sqs', scaling: { enabled: true } }));
      await kube('POST', '/apis/asya.sh/v1alpha1/namespaces/elsewhere/asyncactors', { ...actor(`${prefix}-ignored`), metadata: { name: `${prefix}-ignored`, namespace: 'elsewhere' } });
      await vi.waitFor(() => expect(statusOf(name)?.transportStatus).toBe('Ready'), { timeout: 20_000 });
      const sqs = await createTransport({ ASYA_TRANSPORT: 'sqs', ...env });
      expect(await sqs.queueDepth(`asya-${name}`)).toMatchObject({ ready: 0 });
      const trigger = (api.get('ScaledObject', NS, name)!.spec as { triggers: { metadata: Record<string, string> }[] }).triggers[0]!;
      expect(trigger.metadata).toMatchObject({ queueURL: `${moto.endpoint}/123456789012/asya-${name}`, scaleOnInFlight: 'true' });
      expect(api.get('AsyncActor', 'elsewhere', `${prefix}-ignored`)?.status).toBeUndefined();
      expect(api.get('Deployment', 'elsewhere', `${prefix}-ignored`)).toBeUndefined();

      await kube('DELETE', actorPath(name));
      await vi.waitFor(() => expect(api.get('AsyncActor', NS, name)).toBeUndefined(), { timeout: 20_000 });
      await expect(sqs.queueDepth(`asya-${name}`)).rejects.toThrow();
      await sqs.close();
    } finally {
      await moto.stop();
    }
  });

  test('NATS actors get their stream on the NATS server, and a nats-jetstream trigger', async () => {
    const env = { ASYA_NATS_URL: NATS_URL };
    await startWithPlatform(env, 'nats: {url: "nats://nats.messaging:4222"}');
    const name = `${prefix}-nats`;
    await kube('POST', actorPath(), actor(name, { transport: 'nats', scaling: { enabled: true } }));
    await vi.waitFor(() => expect(statusOf(name)?.transportStatus).toBe('Ready'), { timeout: 20_000 });
    const nats = await createTransport({ ASYA_TRANSPORT: 'nats', ...env });
    try {
      expect(await nats.queueDepth(`asya-${name}`)).toMatchObject({ ready: 0, inFlight: 0 });
      const trigger = (api.get('ScaledObject', NS, name)!.spec as { triggers: { type: string; metadata: Record<string, string> }[] }).triggers[0]!;
      expect(trigger).toMatchObject({ type: 'nats-jetstream', metadata: { stream: `asya-${name}`, consumer: 'asya', natsServerMonitoringEndpoint: 'nats.messaging:8222' } });
      const sidecar = JSON.stringify(api.get('Deployment', NS, name)?.spec);
      expect(sidecar).toContain('"name":"ASYA_TRANSPORT","value":"nats"');
      expect(sidecar).toContain('"name":"ASYA_NATS_URL","value":"nats://nats.messaging:4222"');

      await kube('DELETE', actorPath(name));
      await vi.waitFor(() => expect(api.get('AsyncActor', NS, name)).toBeUndefined(), { timeout: 20_000 });
      await expect(nats.queueDepth(`asya-${name}`)).rejects.toMatchObject({ reason: 'not_found' });
    } finally {
      await nats.close();
    }
  });

  test('metrics and health endpoints', async () => {
    await fresh();
    const c = await start();
    await c.ready;
    const name = `${prefix}-metrics`;
    await kube('POST', actorPath(), actor(name));
    await vi.waitFor(() => expect(statusOf(name)).toBeDefined(), { timeout: 15_000 });
    const base = `http://127.0.0.1:${c.metricsPort}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/asya_controller_reconcile_total\{result="ok"\} [1-9]/);
    expect(text).toMatch(/asya_controller_writes_total\{kind="apply"\} [1-9]/);
    expect(text).toContain('asya_controller_leader 1');
    expectProcessMetrics(text);
  });
});


function i(name: string): number {
  return Number(name.split('-').at(-1));
}
