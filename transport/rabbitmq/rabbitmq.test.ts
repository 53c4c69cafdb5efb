import amqp from 'amqplib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { actorFromQueue } from '../../protocol/queues.ts';
import { capturingLogger } from '../../test/support/capture-logger.ts';
import { forceCloseConnection, RABBITMQ_URL, TestQueues, unackedOnBroker } from '../../test/support/rabbitmq.ts';
import { requireTools } from '../../test/support/tools.ts';
import { transportConformance } from '../conformance.case.ts';
import { deferred, text, waitFor, waitForDepth } from '../conformance-helpers.ts';
import { RabbitMqTransport, writeFramesTogether } from './rabbitmq.ts';
import { prefetchFor } from './rabbitmq-consumer.ts';
import { bucketDelay, deliveryCountOf, holdingQueue, queueArguments } from './rabbitmq-topology.ts';
import type { Delivery } from '../transport.ts';

transportConformance('rabbitmq', () => RabbitMqTransport.connect({ url: RABBITMQ_URL, logger: capturingLogger() }), { prefetch: prefetchFor });

describe('rabbitmq topology rules', () => {
  it('maps maxDeliveries to a quorum delivery limit with a DLQ on the default exchange', () => {
    expect(queueArguments('asya-a', { maxDeliveries: 3, processingTimeoutMs: 5000 })).toEqual({
      'x-queue-type': 'quorum',
      'x-delivery-limit': 2,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': 'asya-a-dlq',
      'x-consumer-timeout': 65_000,
    });
    expect(queueArguments('asya-a')).toEqual({ 'x-queue-type': 'quorum' });
    expect(() => queueArguments('asya-a', { maxDeliveries: 0 })).toThrow(RangeError);
  });

  it('rounds delays up to two significant digits, never down', () => {
    for (const [input, bucket] of [[1, 1], [99, 99], [100, 100], [1234, 1300], [1500, 1500], [59_999, 60_000], [0.2, 1]]) {
      expect(bucketDelay(input!)).toBe(bucket);
      expect(bucket!).toBeGreaterThanOrEqual(input!);
    }
  });

  it('names holding queues so they cannot collide with actor queues, and lets them expire after use', () => {
    const hold = holdingQueue('asya-a', 1300);
    expect(hold.name).toBe('asya-a.delay.1300');
    expect(hold.arguments['x-dead-letter-routing-key']).toBe('asya-a');
    expect(hold.arguments['x-expires']).toBeGreaterThan(1300);
  });

  it('reads the delivery count from x-delivery-count, else from the redelivered flag', () => {
    const msg = (headers: Record<string, unknown>, redelivered: boolean) =>
      ({ fields: { redelivered }, properties: { headers } }) as unknown as Parameters<typeof deliveryCountOf>[0];
    expect(deliveryCountOf(msg({}, false))).toBe(1);
    expect(deliveryCountOf(msg({ 'x-delivery-count': 2 }, true))).toBe(3);
    expect(deliveryCountOf(msg({}, true))).toBe(2);
  });
});

describe("amqplib's frames written together", () => {
  it('finds the muxer in this amqplib, and what a turn publishes leaves in fewer socket writes, in order', async () => {
    const model = await amqp.connect(RABBITMQ_URL, { noDelay: true });
    try {
      // If amqplib's insides change shape this turns false and the transport silently goes without.
      expect(writeFramesTogether(model)).toBe(true);
      const socket = (model as unknown as { connection: { stream: { _writev?: unknown; _write: unknown } } }).connection.stream;
      const counts = { writes: 0 };
      for (const method of ['_write', '_writev'] as const) {
        const original = socket[method] as ((...args: unknown[]) => unknown) | undefined;
        if (!original) continue;
        socket[method] = function (this: unknown, ...args: unknown[]) {
          counts.writes++;
          return original.apply(this, args);
        };
      }
      const ch = await model.createConfirmChannel();
      const { queue } = await ch.assertQueue('', { exclusive: true });
      counts.writes = 0;
      for (let i = 0; i < 20; i++) ch.sendToQueue(queue, Buffer.from(`m${i}`));
      await ch.waitForConfirms();
      // 20 publishes in one turn: one corked pass of the muxer (amqplib alone wrote each frame on its own).
      expect(counts.writes).toBeLessThan(20);
      const got: string[] = [];
      for (let i = 0; i < 20; i++) {
        const msg = await ch.get(queue, { noAck: true });
        if (msg) got.push(msg.content.toString());
      }
      expect(got).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
      await ch.close();
    } finally {
      await model.close();
    }
  });
});

describe('RabbitMqTransport against the broker', () => {
  const queues = new TestQueues();
  let raw: amqp.ChannelModel;
  let transport: RabbitMqTransport;
  const log = capturingLogger();

  beforeAll(async () => {
    raw = await amqp.connect(RABBITMQ_URL);
    transport = await RabbitMqTransport.connect({ url: RABBITMQ_URL, logger: log });
  });
  afterEach(async () => {
    await queues.cleanup(transport);
  });
  afterAll(async () => {
    await transport.close();
    await raw.close();
  });

  it('binds each queue with its actor name on the topic exchange, as a quorum queue', async () => {
    const queue = queues.name('topology');
    await transport.ensureQueue(queue);
    const ch = await raw.createConfirmChannel();
    ch.publish('asya', actorFromQueue(queue), Buffer.from('by-key'));
    await ch.waitForConfirms();
    await waitFor(async () => (await transport.queueDepth(queue)).ready === 1, 'routed message');
    // Redeclaring with the same type succeeds only if the queue really is a quorum queue.
    await ch.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await ch.close();
  });

  it('rejects a message the exchange returns as unroutable and keeps publishing afterwards', async () => {
    const queue = queues.name('returned');
    await transport.ensureQueue(queue);
    const ch = await raw.createChannel();
    await ch.unbindQueue(queue, 'asya', actorFromQueue(queue));
    await ch.close();
    await expect(transport.publish(queue, Buffer.from('lost?'))).rejects.toMatchObject({ reason: 'unroutable' });
    await transport.ensureQueue(queue); // binds again
    await transport.publish(queue, Buffer.from('routed'));
    await waitForDepth(transport, queue, { ready: 1 });
  });

  it('uses a classic queue left by the original instead of deleting it, with a warning', async () => {
    const queue = queues.name('legacy');
    const ch = await raw.createChannel();
    await ch.assertQueue(queue, { durable: true });
    ch.sendToQueue(queue, Buffer.from('old message'));
    await ch.close();
    const before = log.matching('warn', 'queue exists with other arguments').length;
    await transport.ensureQueue(queue, { maxDeliveries: 3, processingTimeoutMs: 1000 });
    expect(log.matching('warn', 'queue exists with other arguments').length).toBe(before + 1);
    await transport.publish(queue, Buffer.from('new message'));
    const seen: Array<[string, number]> = [];
    const consumer = await transport.consume(queue, async (d) => {
      seen.push([text(d), d.deliveryCount]);
      if (d.deliveryCount === 1) await transport.nack(d);
      else await transport.ack(d);
    });
    await waitFor(() => seen.length === 4, 'two messages, each redelivered once');
    await consumer.stop();
    expect(seen.filter(([, count]) => count === 2).map(([body]) => body).sort()).toEqual(['new message', 'old message']);
  });

  it('hands each small delivery its own bytes, never a view that keeps the socket read it came in alive', async () => {
    const queue = queues.name('own-bytes');
    await transport.ensureQueue(queue);
    // Published before anyone consumes, so the broker sends a burst and several arrive in one socket read.
    for (let i = 0; i < 40; i++) await transport.publish(queue, Buffer.from(`message ${i} ${'x'.repeat(300)}`));
    const got: Delivery[] = [];
    const consumer = await transport.consume(
      queue,
      async (d) => {
        got.push(d);
        await transport.ack(d);
      },
      { concurrency: 8 },
    );
    await waitFor(() => got.length === 40, 'all 40 messages');
    await consumer.stop();
    expect(got.map(text)).toEqual(Array.from({ length: 40 }, (_, i) => `message ${i} ${'x'.repeat(300)}`));
    for (const d of got) expect(d.body.buffer.byteLength).toBeLessThanOrEqual(2 * d.body.byteLength);
  });

  it('waits out an outage: a publish made while disconnected is confirmed after the reconnect', async () => {
    const queue = queues.name('outage');
    await transport.ensureQueue(queue);
    transport.simulateConnectionLoss();
    await transport.publish(queue, Buffer.from('during outage'));
    await waitForDepth(transport, queue, { ready: 1 });
  });
});

/**
 * The connection dies while three handlers still hold deliveries. Their late acks must be no-ops (the broker
 * already requeued those messages), the consumer must resume, and every message must be acked exactly once.
 */
async function connectionLossScenario(kill: (t: RabbitMqTransport) => Promise<void>): Promise<void> {
  // rabbitmqctl is how the test knows the broker has the acks (see unackedOnBroker); the callers require it.
  const log = capturingLogger();
  const t = await RabbitMqTransport.connect({
    url: RABBITMQ_URL,
    logger: log,
    reconnectInitialDelayMs: 50,
    reconnectMaxDelayMs: 500,
  });
  const queues = new TestQueues();
  try {
    const queue = queues.name('reconnect');
    await t.ensureQueue(queue);
    const total = 30;
    for (let i = 0; i < total; i++) await t.publish(queue, Buffer.from(`r${i}`));

    let killed = false;
    let ackedBeforeKill = 0;
    const release = deferred();
    const held = new Set<Delivery>();
    const effectiveAcks: string[] = [];
    const seen: Array<{ body: string; count: number }> = [];
    const consumer = await t.consume(
      queue,
      async (d) => {
        seen.push({ body: text(d), count: d.deliveryCount });
        if (!killed && ackedBeforeKill >= 10) {
          held.add(d);
          await release.promise;
        }
        await t.ack(d);
        if (!held.has(d)) effectiveAcks.push(text(d));
        if (!killed) ackedBeforeKill++;
      },
      { concurrency: 3 },
    );
    await waitFor(() => held.size === 3, 'three handlers holding deliveries');
    // The acks already made have reached the broker: it counts as unacked only the three held deliveries and
    // what it pushed ahead of them (the prefetch window's extra).
    await waitFor(async () => (await unackedOnBroker(queue)) === prefetchFor(3), 'the broker to count only the held and pushed-ahead deliveries unacked');
    await kill(t);
    // Its log, not `connected`: a reconnect 50 ms later can come and go between two polls of the flag.
    await waitFor(() => log.matching('warn', 'rabbitmq connection lost').length > 0, 'the transport to notice the lost connection');
    killed = true;
    await t.publish(queue, Buffer.from('after-kill'));
    release.resolve();

    await waitFor(() => effectiveAcks.length >= total + 1, 'every message acked');
    // Settled at the broker: nothing ready and nothing unacked, so no delivery (a redelivery of a wrongly
    // acked or duplicated message) can still come.
    await waitFor(async () => (await unackedOnBroker(queue)) === 0 && (await t.queueDepth(queue)).ready === 0, 'the broker to hold nothing for the queue');
    await consumer.stop();

    const expected = [...Array.from({ length: total }, (_, i) => `r${i}`), 'after-kill'].sort();
    expect([...effectiveAcks].sort()).toEqual(expected);
    const stale = log.matching('warn', 'stale delivery');
    expect(stale).toHaveLength(3);
    for (const d of held) {
      expect(seen.some((s) => s.body === text(d) && s.count === 2)).toBe(true); // quorum counts the crash
    }
    expect(log.lines.some((l) => JSON.stringify(l.fields).includes('unknown delivery tag'))).toBe(false);
    await waitForDepth(t, queue, { ready: 0, inFlight: 0 });
    expect(log.matching('info', 'consumer resumed').length).toBeGreaterThanOrEqual(1);
  } finally {
    await queues.cleanup(t);
    await t.close();
  }
}

describe('RabbitMqTransport reconnect', () => {
  it('survives a dropped socket without losing, duplicating or misacking messages', async (ctx) => {
    requireTools(ctx, ['rabbitmqctl']);
    await connectionLossScenario(async (t) => t.simulateConnectionLoss());
  });

  it('survives a broker-forced connection close (rabbitmqctl close_connection)', async (ctx) => {
    requireTools(ctx, ['rabbitmqctl']);
    await connectionLossScenario(async (t) => {
      expect(await forceCloseConnection(t.connectionName)).toBe(1);
    });
  });
});
