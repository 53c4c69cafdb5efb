/**
 * What the controller says about and does to the queues: in-flight counts from the RabbitMQ management
 * API (on a private node with the plugin: the shared broker runs without it, and must not be restarted),
 * and two clusters sharing one broker.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { transportQueueAdmin } from '../controller/queues.ts';
import { createTransport } from '../transport/factory.ts';
import type { Delivery, Transport } from '../transport/transport.ts';
import { ControllerHarness, platformFile } from './support/controller-harness.ts';
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

    // A consumer elsewhere (a sidecar) takes one message and holds it.
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
    await vi.waitFor(() => expect(h!.statusOf(name)).toMatchObject({ queuedMessages: 2, processingMessages: 1 }), { timeout: 60_000, interval: 200 });
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
      'ASYA_QUEUE_DELETION="sometimes" must be one of delete, never',
    );
  });
});
