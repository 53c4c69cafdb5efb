import { afterEach, describe, expect, it } from 'vitest';
import { capturingLogger } from '../../test/support/capture-logger.ts';
import { NATS_URL } from '../../test/support/nats.ts';
import { TestQueues } from '../../test/support/queues.ts';
import { transportConformance } from '../conformance.case.ts';
import { deferred, pause, text, waitFor, waitForDepth } from '../conformance-helpers.ts';
import { NatsTransport } from './nats.ts';
import { consumerConfig, delayedStreamOf, delayedSubject, dueAtOf, maxDeliveriesOf, streamConfig } from './nats-topology.ts';

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
