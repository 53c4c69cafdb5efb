import { afterEach, describe, expect, it } from 'vitest';
import { capturingLogger } from '../../test/support/capture-logger.ts';
import { NATS_URL } from '../../test/support/nats.ts';
import { TestQueues } from '../../test/support/queues.ts';
import { transportConformance } from '../conformance.case.ts';
import { createTransport, transportConfigFromEnv } from '../factory.ts';
import { deferred, pause, text, waitFor, waitForDepth } from '../conformance-helpers.ts';
import { NatsTransport } from './nats.ts';
import { consumerConfig, deliveriesOf, delayedStreamOf, delayedSubject, dueAtOf, maxDeliveriesOf, streamConfig } from './nats-topology.ts';

transportConformance('nats', () => NatsTransport.connect({ url: NATS_URL, logger: capturingLogger(), fetchExpiresMs: 1000 }), {
  maxMessageBytes: 1024 * 1024,
});

describe('nats topology rules', () => {
  const settings = { replicas: 1, ackWaitMs: 30_000 };

  it('maps a queue to a work-queue stream with one subject, and its delayed messages to a second stream', () => {
    expect(streamConfig('asya-a', settings)).toMatchObject({ name: 'asya-a', subjects: ['asya.q.asya-a'], retention: 'workqueue' });
    expect(delayedStreamOf('asya-a')).toBe('asya-a_delayed');
    expect(dueAtOf(delayedSubject('asya-a', 1234.2))).toBe(1235);
    expect(dueAtOf('asya.q.asya-a')).toBe(0);
  });

  it('counts deliveries across requeues: the header carries the earlier ones', () => {
    expect(deliveriesOf(undefined, 1)).toBe(1);
    expect(deliveriesOf('2', 1)).toBe(3);
    expect(deliveriesOf('2', 2)).toBe(4); // a requeued copy whose consumer then crashed
    expect(deliveriesOf('garbage', 1)).toBe(1);
  });

  it('records maxDeliveries on the consumer and keeps the server-side limit off', () => {
    const config = consumerConfig(settings, { maxDeliveries: 3 });
    expect(config.max_deliver).toBe(-1);
    expect(maxDeliveriesOf(config.description)).toBe(3);
    expect(maxDeliveriesOf(consumerConfig(settings).description)).toBeUndefined();
    expect(() => consumerConfig(settings, { maxDeliveries: 0 })).toThrow(RangeError);
  });
});

describe('NatsTransport against nats-server', () => {
  const queues = new TestQueues();
  const transports: NatsTransport[] = [];
  const make = async () => {
    const t = await NatsTransport.connect({ url: NATS_URL, logger: capturingLogger(), fetchExpiresMs: 1000, ackWaitMs: 1000 });
    transports.push(t);
    return t;
  };
  afterEach(async () => {
    await queues.cleanup(transports[0]!);
    for (const t of transports.splice(0)) await t.close();
  });

  it('keeps a long-running delivery with in-progress acks, so no second consumer gets it', async () => {
    const [a, b] = [await make(), await make()];
    const queue = queues.name('working');
    await a.ensureQueue(queue);
    await a.publish(queue, Buffer.from('slow work'));
    const seenByA: number[] = [];
    let aDone = false;
    const consumerA = await a.consume(queue, async (d) => {
      seenByA.push(d.deliveryCount);
      await pause(4000); // slow work on purpose: it spans four ack waits, which the in-progress acks must cover
      await a.ack(d);
      aDone = true;
    });
    await waitFor(() => seenByA.length === 1, 'consumer A to start');
    const seenByB: string[] = [];
    const consumerB = await b.consume(queue, async (d) => {
      seenByB.push(text(d));
      await b.ack(d);
    });
    await waitFor(() => aDone, 'consumer A to finish');
    // Acked and gone from the work queue: no redelivery can reach B any more.
    await waitForDepth(a, queue, { ready: 0, inFlight: 0 });
    await consumerB.stop();
    await consumerA.stop();
    expect(seenByA).toEqual([1]);
    expect(seenByB).toEqual([]);
  });

  it('a requeued message is ready (not in flight) once its consumer has stopped, and keeps its count', async () => {
    const [a] = [await make()];
    const queue = queues.name('requeue');
    await a.ensureQueue(queue);
    await a.publish(queue, Buffer.from('later'));
    const counts: number[] = [];
    const consumer = await a.consume(queue, async (d) => {
      counts.push(d.deliveryCount);
      await a.nack(d, { requeue: true });
      if (counts.length === 2) void consumer.stop();
    });
    await waitFor(() => counts.length === 2, 'two deliveries');
    await consumer.stop();
    await waitForDepth(a, queue, { ready: 1, inFlight: 0 });
    const again: number[] = [];
    const second = await a.consume(queue, async (d) => {
      again.push(d.deliveryCount);
      await a.ack(d);
    });
    await waitFor(() => again.length === 1, 'the third delivery');
    await second.stop();
    expect(counts).toEqual([1, 2]);
    expect(again).toEqual([3]);
  });

  it('dead-letters a message whose consumer died holding its last allowed delivery', async () => {
    const [a, b] = [await make(), await make()];
    const queue = queues.name('crash');
    await a.ensureQueue(queue, { maxDeliveries: 1 });
    await a.publish(queue, Buffer.from('poison'));
    const held = deferred();
    await a.consume(queue, async () => {
      held.resolve();
      await new Promise(() => {}); // the "crash": never settles; the connection closes under it
    });
    await held.promise;
    await a.close();
    const seenByB: number[] = [];
    const consumerB = await b.consume(queue, async (d) => {
      seenByB.push(d.deliveryCount);
      await b.ack(d);
    });
    await waitForDepth(b, `${queue}-dlq`, { ready: 1 });
    await waitForDepth(b, queue, { ready: 0, inFlight: 0 });
    await consumerB.stop();
    expect(seenByB).toEqual([]);
  });
});

describe('nats from the environment', () => {
  it('reads ASYA_NATS_* through the registry and connects', async () => {
    expect(transportConfigFromEnv({ ASYA_TRANSPORT: 'nats' })).toEqual({
      kind: 'nats',
      options: { url: 'nats://localhost:4222', replicas: 1, ackWaitMs: 30_000 },
    });
    expect(
      transportConfigFromEnv({ ASYA_TRANSPORT: 'NATS', ASYA_NATS_URL: 'nats://a:4222,nats://b:4222', ASYA_NATS_USERNAME: 'u', ASYA_NATS_PASSWORD: 'p', ASYA_NATS_ACK_WAIT: '2m', ASYA_NATS_REPLICAS: '3' }),
    ).toEqual({ kind: 'nats', options: { url: 'nats://a:4222,nats://b:4222', username: 'u', password: 'p', replicas: 3, ackWaitMs: 120_000 } });
    expect(() => transportConfigFromEnv({ ASYA_TRANSPORT: 'nats', ASYA_NATS_REPLICAS: '0' })).toThrow(/ASYA_NATS_REPLICAS="0": expected an integer from 1 to 5/);
    const t = await createTransport({ ASYA_TRANSPORT: 'nats', ASYA_NATS_URL: NATS_URL });
    expect(t.kind).toBe('nats');
    await t.close();
  });

  it('names the server it cannot reach', async () => {
    await expect(createTransport({ ASYA_TRANSPORT: 'nats', ASYA_NATS_URL: 'nats://127.0.0.1:9' })).rejects.toMatchObject({ reason: 'unavailable', message: /nats:\/\/127\.0\.0\.1:9/ });
  });
});
