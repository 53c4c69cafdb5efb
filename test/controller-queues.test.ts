/**
 * What the controller says about and does to the queues: in-flight counts from the RabbitMQ management
 * API (on a private node with the plugin: the shared broker runs without it, and must not be restarted).
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
  await h?.stop();
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
