/**
 * What the controller says about and does to the queues: in-flight counts from the RabbitMQ management
 * API (on a private node with the plugin: the shared broker runs without it, and must not be restarted),
 * two clusters sharing one broker, and the platform's queue policy as the brokers see it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { transportQueueAdmin } from '../controller/queues.ts';
import { createTransport } from '../transport/factory.ts';
import { prefetchFor } from '../transport/rabbitmq/rabbitmq-consumer.ts';
import type { Delivery, Transport } from '../transport/transport.ts';
import { GetQueueAttributesCommand, GetQueueUrlCommand, ListQueueTagsCommand, SQSClient } from '@aws-sdk/client-sqs';
import { queuePolicyFor } from '../controller/queue-policy.ts';
import { ControllerHarness, platformFile, platformResource } from './support/controller-harness.ts';
import { startMoto } from './support/moto.ts';
import { startPrivateRabbitmq, type PrivateRabbitmq } from './support/private-rabbitmq.ts';

const NS = 'queues';
const prefix = `cq${process.pid}`;
let h: ControllerHarness | undefined;
const others: ControllerHarness[] = [];
let node: PrivateRabbitmq;
let broker: Transport;

beforeAll(async () => {
  node = await startPrivateRabbitmq({ management: true });
  broker = await createTransport({ ASYA_TRANSPORT: 'rabbitmq', ASYA_RABBITMQ_URL: node.url });
}, 180_000);
afterAll(async () => {
  await broker?.close();
  await node?.dispose();
}, 120_000);
afterEach(async () => {
  await Promise.all([h, ...others.splice(0)].map((x) => x?.stop()));
});

describe('processingMessages', () => {
  test('with managementUrl, RabbitMQ actors report the messages their consumers hold unacknowledged', async () => {
    h = await new ControllerHarness(NS).begin();
    const env = { ASYA_RABBITMQ_URL: node.url };
    const platform = platformFile({ transports: { rabbitmq: { managementUrl: node.managementUrl } } });
    await h.start(transportQueueAdmin(env), { ASYA_PLATFORM_CONFIG: platform }, env);
    const name = `${prefix}-busy`;
    await h.create(name);
    await vi.waitFor(() => expect(h!.statusOf(name)?.transportStatus).toBe('Ready'), { timeout: 20_000 });
    for (let i = 0; i < 3; i++) await broker.publish(`asya-${name}`, Buffer.from(`{"n":${i}}`));

    // A consumer elsewhere (a sidecar) takes one message and holds it, with the one its prefetch window
    // holds ahead (prefetchFor): both are unacknowledged at the broker.
    const held: Delivery[] = [];
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const consumer = await broker.consume(
      `asya-${name}`,
      async (d) => {
        held.push(d);
        await gate;
        await broker.ack(d);
      },
      { concurrency: 1 },
    );
    await vi.waitFor(() => expect(held).toHaveLength(1), { timeout: 20_000 });
    // The broker publishes its statistics every few seconds: wait for them, however long that takes.
    await vi.waitFor(() => expect(h!.statusOf(name)).toMatchObject({ queuedMessages: 3 - prefetchFor(1), processingMessages: prefetchFor(1) }), { timeout: 60_000, interval: 200 });
    release();
    await consumer.stop();
    await vi.waitFor(() => expect(h!.statusOf(name)).toMatchObject({ processingMessages: 0 }), { timeout: 60_000, interval: 200 });
    await broker.deleteQueue(`asya-${name}`);
  }, 180_000);
});

describe('two clusters on one broker', () => {
  test('both declare the shared queue; with ASYA_QUEUE_DELETION=never neither deletes it when its copy of the actor goes', async () => {
    const env = { ASYA_RABBITMQ_URL: node.url, ASYA_QUEUE_DELETION: 'never' };
    const [east, west] = await Promise.all([new ControllerHarness(NS).begin(), new ControllerHarness(NS).begin()]);
    others.push(east!, west!);
    const [c1] = await Promise.all([east!.start(transportQueueAdmin(env), {}, env), west!.start(transportQueueAdmin(env), {}, env)]);
    const name = `${prefix}-shared`;
    // The same actor applied in both clusters at once: both declare the queue, neither fails.
    await Promise.all([east!.create(name), west!.create(name)]);
    for (const cluster of [east!, west!]) await vi.waitFor(() => expect(cluster.condition(name, 'TransportReady')).toMatchObject({ status: 'True' }), { timeout: 20_000 });
    await broker.publish(`asya-${name}`, Buffer.from('{"waiting":"for west"}'));

    await east!.request('DELETE', east!.actorPath(name));
    await vi.waitFor(() => expect(east!.api.get('AsyncActor', NS, name)).toBeUndefined(), { timeout: 20_000 });
    await c1!.idle();
    expect(east!.events(name).find((e) => e.reason === 'QueueKept')).toMatchObject({ type: 'Normal' });
    // West's replicas still have their queue, with the message in it.
    expect(await broker.queueDepth(`asya-${name}`)).toMatchObject({ ready: 1 });
    expect(west!.condition(name, 'TransportReady')).toMatchObject({ status: 'True' });

    await west!.request('DELETE', west!.actorPath(name));
    await vi.waitFor(() => expect(west!.api.get('AsyncActor', NS, name)).toBeUndefined(), { timeout: 20_000 });
    expect(await broker.queueDepth(`asya-${name}`)).toMatchObject({ ready: 1 });
    await broker.deleteQueue(`asya-${name}`);
  }, 120_000);

  test('ASYA_QUEUE_DELETION accepts delete and never only', async () => {
    h = await new ControllerHarness(NS).begin();
    await expect(h.start(transportQueueAdmin({ ASYA_RABBITMQ_URL: node.url }), {}, { ASYA_QUEUE_DELETION: 'sometimes' })).rejects.toThrow(
      'Invalid ASYA_QUEUE_DELETION="sometimes": expected delete or never',
    );
  });
});

describe('queue policy from the platform settings', () => {
  test('RabbitMQ: the delivery limit is enforced, dead letters land in the DLQ', async () => {
    h = await new ControllerHarness(NS).begin();
    const env = { ASYA_RABBITMQ_URL: node.url };
    const spec = { transports: { rabbitmq: { queues: { dlq: { maxDeliveries: 2 } } } } };
    await h.start(transportQueueAdmin(env, undefined, queuePolicyFor(platformResource(spec))), { ASYA_PLATFORM_CONFIG: platformFile(spec) }, env);
    const name = `${prefix}-limit`;
    await h.create(name);
    await vi.waitFor(() => expect(h!.condition(name, 'TransportReady')).toMatchObject({ status: 'True' }), { timeout: 20_000 });
    // The sidecar gets the same policy, so it declares the queue as the controller did.
    const sidecar = (h.api.get('Deployment', NS, name)!.spec as { template: { spec: { containers: { name: string; env: { name: string; value?: string }[] }[] } } }).template.spec.containers.find((c) => c.name === 'asya-sidecar')!;
    expect(sidecar.env).toContainEqual({ name: 'ASYA_QUEUE_MAX_DELIVERIES', value: '2' });

    await broker.publish(`asya-${name}`, Buffer.from('{"poison":true}'));
    const deliveries: number[] = [];
    const consumer = await broker.consume(`asya-${name}`, async (d) => {
      deliveries.push(d.deliveryCount);
      await broker.nack(d, { requeue: true });
    });
    await vi.waitFor(async () => expect(await broker.queueDepth(`asya-${name}-dlq`)).toMatchObject({ ready: 1 }), { timeout: 30_000 });
    await consumer.stop();
    expect(deliveries).toEqual([1, 2]);
    await broker.deleteQueue(`asya-${name}`);
    await broker.deleteQueue(`asya-${name}-dlq`);
  }, 120_000);

  test('RabbitMQ with autoCreate off: a missing queue is a TransportError, not created', async () => {
    h = await new ControllerHarness(NS).begin();
    const env = { ASYA_RABBITMQ_URL: node.url };
    const spec = { transports: { rabbitmq: { queues: { autoCreate: false } } } };
    await h.start(transportQueueAdmin(env, undefined, queuePolicyFor(platformResource(spec))), { ASYA_PLATFORM_CONFIG: platformFile(spec) }, env);
    const name = `${prefix}-manual`;
    await h.create(name);
    await vi.waitFor(() => expect(h!.statusOf(name)?.status).toBe('TransportError'), { timeout: 20_000 });
    expect(h.condition(name, 'TransportReady')?.message).toContain('queues.autoCreate is false');
    await expect(broker.queueDepth(`asya-${name}`)).rejects.toThrow();
    // Created by the platform team, the queue is found.
    await broker.ensureQueue(`asya-${name}`);
    await vi.waitFor(() => expect(h!.condition(name, 'TransportReady')).toMatchObject({ status: 'True' }), { timeout: 20_000 });
    await broker.deleteQueue(`asya-${name}`);
  }, 60_000);

  test('SQS: the redrive maxReceiveCount, the DLQ retention and the tags are on the queues', async () => {
    const moto = await startMoto();
    try {
      h = await new ControllerHarness(NS).begin();
      const env = { ASYA_SQS_ENDPOINT: moto.endpoint, ASYA_AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };
      const spec = { transports: { sqs: { accountId: '123456789012', endpoint: moto.endpoint, tags: { team: 'ml' }, queues: { dlq: { maxDeliveries: 3, retentionDays: 2 } } } } };
      await h.start(transportQueueAdmin(env, undefined, queuePolicyFor(platformResource(spec))), { ASYA_PLATFORM_CONFIG: platformFile(spec) }, env);
      const name = `${prefix}-sqs-policy`;
      await h.create(name, { transport: 'sqs' });
      await vi.waitFor(() => expect(h!.condition(name, 'TransportReady')).toMatchObject({ status: 'True' }), { timeout: 20_000 });
      const sqs = new SQSClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
      const url = async (q: string) => (await sqs.send(new GetQueueUrlCommand({ QueueName: q }))).QueueUrl!;
      const attributes = async (q: string) => (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: await url(q), AttributeNames: ['All'] }))).Attributes!;
      const redrive = JSON.parse((await attributes(`asya-${name}`)).RedrivePolicy!) as { maxReceiveCount: string | number; deadLetterTargetArn: string };
      expect(Number(redrive.maxReceiveCount)).toBe(3);
      expect(redrive.deadLetterTargetArn).toMatch(new RegExp(`:asya-${name}-dlq$`));
      expect((await attributes(`asya-${name}-dlq`)).MessageRetentionPeriod).toBe(String(2 * 86_400));
      for (const q of [`asya-${name}`, `asya-${name}-dlq`]) {
        expect((await sqs.send(new ListQueueTagsCommand({ QueueUrl: await url(q) }))).Tags).toEqual({ team: 'ml', 'asya.sh/actor': name, 'asya.sh/namespace': NS });
      }
      sqs.destroy();
    } finally {
      await h?.stop();
      h = undefined;
      await moto.stop();
    }
  }, 120_000);
});
