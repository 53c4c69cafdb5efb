/**
 * The one suite every Transport passes (memory.test.ts and each broker folder's <broker>.test.ts call it). It states
 * the contract of transport.ts as behaviour; a transport-specific test file adds only what this cannot say.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TestQueues } from '../test/support/queues.ts';
import { deferred, jsonBody, pause, text, waitFor, waitForDepth } from './conformance-helpers.ts';
import { TransportError, type Consumer, type ConsumeOptions, type Delivery, type DeliveryHandler, type QueueOptions, type Transport } from './transport.ts';

export interface ConformanceOptions {
  /** The largest message the transport carries; omit when 10 MiB must round-trip. */
  maxMessageBytes?: number;
  /**
   * The unacknowledged deliveries the broker pushes to a consumer of `concurrency` handlers whether or not a
   * handler slot is free (RabbitMQ's prefetch window), so a consumer holds deliveries it has not started.
   * Omitted for transports that take a message only for a free slot (memory, SQS).
   */
  prefetch?: (concurrency: number) => number;
}

const TEN_MIB = 10 * 1024 * 1024;

export function transportConformance(
  name: string,
  makeTransport: () => Promise<Transport>,
  opts: ConformanceOptions,
): void {
  describe(`${name} transport conformance`, () => {
    let transport: Transport;
    const queues = new TestQueues();
    const consumers: Consumer[] = [];

    beforeEach(async () => {
      transport = await makeTransport();
    });

    afterEach(async () => {
      for (const consumer of consumers.splice(0)) await consumer.stop().catch(() => {});
      await queues.cleanup(transport);
      await transport.close();
    });

    async function freshQueue(tag: string, options?: QueueOptions): Promise<string> {
      const queue = queues.name(tag);
      await transport.ensureQueue(queue, options);
      return queue;
    }

    async function consume(queue: string, handler: DeliveryHandler, options?: ConsumeOptions): Promise<Consumer> {
      const consumer = await transport.consume(queue, handler, options);
      consumers.push(consumer);
      return consumer;
    }

    const publish = (queue: string, body: string) => transport.publish(queue, Buffer.from(body));

    it('publishes, consumes and acks', async () => {
      const queue = await freshQueue('basic');
      await transport.ensureQueue(queue); // idempotent
      await publish(queue, '{"hello":"world"}');
      const seen: Delivery[] = [];
      await consume(queue, async (d) => {
        seen.push(d);
        await transport.ack(d);
      });
      await waitFor(() => seen.length === 1, 'one delivery');
      expect(text(seen[0]!)).toBe('{"hello":"world"}');
      expect(seen[0]!.queue).toBe(queue);
      expect(seen[0]!.deliveryCount).toBe(1);
      await waitForDepth(transport, queue, { ready: 0, inFlight: 0, delayed: 0 });
    });

    it('redelivers a nacked message with a growing deliveryCount', async () => {
      const queue = await freshQueue('nack');
      await publish(queue, 'again');
      const counts: number[] = [];
      await consume(queue, async (d) => {
        counts.push(d.deliveryCount);
        if (d.deliveryCount < 3) await transport.nack(d, { requeue: true });
        else await transport.ack(d);
      });
      await waitFor(() => counts.length === 3, 'three deliveries');
      expect(counts).toEqual([1, 2, 3]);
      await waitForDepth(transport, queue, { ready: 0, inFlight: 0 });
    });

    it('moves a message to <queue>-dlq after maxDeliveries', async () => {
      const queue = await freshQueue('dlq', { maxDeliveries: 2 });
      await publish(queue, 'poison');
      const counts: number[] = [];
      await consume(queue, async (d) => {
        counts.push(d.deliveryCount);
        await transport.nack(d, { requeue: true });
      });
      await waitForDepth(transport, `${queue}-dlq`, { ready: 1 });
      expect(counts).toEqual([1, 2]);
      await waitForDepth(transport, queue, { ready: 0, inFlight: 0 });
      const dead: string[] = [];
      await consume(`${queue}-dlq`, async (d) => {
        dead.push(text(d));
        await transport.ack(d);
      });
      await waitFor(() => dead.length === 1, 'the DLQ message');
      expect(dead).toEqual(['poison']);
    });

    it('dead-letters at once on nack without requeue', async () => {
      const queue = await freshQueue('reject', { maxDeliveries: 5 });
      await publish(queue, 'give-up');
      const counts: number[] = [];
      await consume(queue, async (d) => {
        counts.push(d.deliveryCount);
        await transport.nack(d, { requeue: false });
      });
      await waitForDepth(transport, `${queue}-dlq`, { ready: 1 });
      expect(counts).toEqual([1]);
    });

    it('rejects a publish to a queue that does not exist as unroutable, naming the queue', async () => {
      const missing = queues.name('missing');
      // Twice: a transport that caches queue addresses must still refuse once it has seen the queue go.
      await transport.ensureQueue(missing);
      await transport.deleteQueue(missing);
      for (const delayMs of [0, 1000, 0]) {
        const error = await transport.publish(missing, Buffer.from('x'), { delayMs }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(TransportError);
        expect((error as TransportError).reason).toBe('unroutable');
        expect((error as TransportError).message).toContain(missing);
      }
      await expect(transport.queueDepth(missing)).rejects.toMatchObject({ reason: 'not_found' });
      await expect(transport.consume(missing, async () => {})).rejects.toMatchObject({ reason: 'not_found' });
    });

    it('delivers a delayed message after the delay and not before', async () => {
      const queue = await freshQueue('delay');
      const delayMs = 1500;
      const publishedAt = Date.now();
      await transport.publish(queue, Buffer.from('later'), { delayMs });
      await publish(queue, 'now');
      const depth = await transport.queueDepth(queue);
      expect(depth.delayed).toBe(1);
      expect(depth.ready).toBe(1);
      const arrivals: Array<{ body: string; at: number }> = [];
      await consume(queue, async (d) => {
        arrivals.push({ body: text(d), at: Date.now() });
        await transport.ack(d);
      });
      await waitFor(() => arrivals.length === 2, 'both messages');
      expect(arrivals.map((a) => a.body)).toEqual(['now', 'later']);
      expect(arrivals[1]!.at - publishedAt).toBeGreaterThanOrEqual(delayMs);
      await waitForDepth(transport, queue, { ready: 0, inFlight: 0, delayed: 0 });
    });

    it('reports ready and in-flight depth', async () => {
      const queue = await freshQueue('depth');
      for (const body of ['a', 'b', 'c']) await publish(queue, body);
      const gate = deferred();
      const started: string[] = [];
      await consume(
        queue,
        async (d) => {
          started.push(text(d));
          await gate.promise;
          await transport.ack(d);
        },
        { concurrency: 1 },
      );
      await waitFor(() => started.length === 1, 'the first handler');
      // In flight: the running handler's delivery, and any the broker pushed ahead of a free slot.
      const held = Math.max(1, opts.prefetch?.(1) ?? 1);
      await waitForDepth(transport, queue, { ready: 3 - held, inFlight: held, delayed: 0 });
      expect(started).toHaveLength(1);
      gate.resolve();
      await waitFor(() => started.length === 3, 'all three handlers');
      await waitForDepth(transport, queue, { ready: 0, inFlight: 0 });
    });

    it('runs `concurrency` handlers at once and never more', async () => {
      const queue = await freshQueue('concurrency');
      const concurrency = 3;
      const total = 2 * concurrency;
      for (let i = 0; i < total; i++) await publish(queue, `m${i}`);
      let running = 0;
      let maxRunning = 0;
      let started = 0;
      let done = 0;
      await consume(
        queue,
        async (d) => {
          running++;
          started++;
          maxRunning = Math.max(maxRunning, running);
          // Hold until the cap is reached, so a transport that runs fewer at once is caught.
          await waitFor(() => running >= concurrency || started === total, 'peers', 5000).catch(() => {});
          await pause(20);
          running--;
          await transport.ack(d);
          done++;
        },
        { concurrency },
      );
      await waitFor(() => done === total, 'all handlers');
      expect(maxRunning).toBe(concurrency);
    });

    it('a handler that gives its slot back lets the next start; twice the cap may be unfinished; stop() waits for all', async () => {
      const queue = await freshQueue('release');
      const total = 5;
      for (let i = 0; i < total; i++) await publish(queue, `r${i}`);
      const gate = deferred();
      const started: string[] = [];
      let finished = 0;
      const consumer = await consume(
        queue,
        async (d, slot) => {
          started.push(text(d));
          slot.release();
          slot.release(); // a second release is a no-op, not a second slot
          await gate.promise;
          await transport.ack(d);
          finished++;
        },
        { concurrency: 1 },
      );
      await waitFor(() => started.length === 2, 'a second handler beside the released one');
      // Two unfinished at concurrency 1, and no third: the rest wait in the queue (RabbitMQ's prefetch of two
      // holds the same line).
      await waitForDepth(transport, queue, { ready: total - 2, inFlight: 2 });
      expect(started).toHaveLength(2);
      let stopped = false;
      const stopping = consumer.stop().then(() => (stopped = true));
      await pause(50);
      expect(stopped).toBe(false);
      gate.resolve();
      await stopping;
      expect(finished).toBe(2);
      await waitForDepth(transport, queue, { ready: total - 2, inFlight: 0 });
    });

    it('stop() finishes in-flight handlers and requeues the rest', async () => {
      const queue = await freshQueue('stop');
      const total = 6;
      const concurrency = 2;
      for (let i = 0; i < total; i++) await publish(queue, `s${i}`);
      const gate = deferred();
      const firstRun: string[] = [];
      let stopCalled = false;
      let startedAfterStop = 0;
      let finished = 0;
      const consumer = await consume(
        queue,
        async (d) => {
          if (stopCalled) startedAfterStop++;
          firstRun.push(text(d));
          // Acking early frees broker prefetch, so a broker may push deliveries that never start.
          await transport.ack(d);
          await gate.promise;
          finished++;
        },
        { concurrency },
      );
      await waitFor(() => firstRun.length === concurrency, 'two running handlers');
      // Marker: the acks have landed and whatever the broker pushes into the freed prefetch has arrived, so
      // stop() below really has received-but-unstarted deliveries to requeue where the transport can hold them.
      const heldAhead = opts.prefetch?.(concurrency) ?? 0;
      await waitForDepth(transport, queue, { ready: total - concurrency - heldAhead, inFlight: heldAhead });
      // A control: a consumer with nothing in flight, stopped after the one under test, on the same transport.
      const idle = await consume(await freshQueue('stop-idle'), async (d) => transport.ack(d));
      stopCalled = true;
      let finishedWhenStopped: number | undefined;
      const stopping = consumer.stop().then(() => (finishedWhenStopped = finished));
      await idle.stop();
      // The control's stop() took every step a stop takes but the wait for handlers, so ours had its chance.
      expect(finishedWhenStopped).toBeUndefined(); // still waiting for the two handlers
      gate.resolve();
      await stopping;
      expect(finishedWhenStopped).toBe(concurrency);
      expect(startedAfterStop).toBe(0);
      expect(firstRun).toHaveLength(concurrency);
      await waitForDepth(transport, queue, { ready: total - concurrency, inFlight: 0 });

      const secondRun: string[] = [];
      await consume(queue, async (d) => {
        secondRun.push(text(d));
        await transport.ack(d);
      });
      await waitFor(() => secondRun.length === total - 2, 'the requeued messages');
      const all = [...firstRun, ...secondRun].sort();
      expect(all).toEqual(Array.from({ length: total }, (_, i) => `s${i}`).sort());
      await waitForDepth(transport, queue, { ready: 0, inFlight: 0 });
    });

    it('requeues the delivery of a handler that throws and keeps consuming', async () => {
      const queue = await freshQueue('throws');
      await publish(queue, 'bad');
      await publish(queue, 'good');
      const acked = new Map<string, number>();
      await consume(queue, async (d) => {
        if (text(d) === 'bad' && d.deliveryCount === 1) throw new Error('handler exploded');
        acked.set(text(d), d.deliveryCount);
        await transport.ack(d);
      });
      await waitFor(() => acked.size === 2, 'both messages acked');
      expect(acked.get('bad')).toBe(2);
      expect(acked.get('good')).toBe(1);
    });

    it('requeues the delivery of a handler that returns without settling', async () => {
      const queue = await freshQueue('unsettled');
      await publish(queue, 'forgotten');
      const counts: number[] = [];
      await consume(queue, async (d) => {
        counts.push(d.deliveryCount);
        if (d.deliveryCount > 1) await transport.ack(d);
      });
      await waitFor(() => counts.length === 2, 'the redelivery');
      expect(counts).toEqual([1, 2]);
      await waitForDepth(transport, queue, { ready: 0, inFlight: 0 });
    });

    it('treats a second ack (or a nack after ack) as a no-op', async () => {
      const queue = await freshQueue('ack-twice');
      await publish(queue, 'one');
      const seen: string[] = [];
      await consume(queue, async (d) => {
        seen.push(text(d));
        await transport.ack(d);
        await transport.ack(d);
        await transport.nack(d, { requeue: true });
      });
      await waitFor(() => seen.length === 1, 'first message');
      await publish(queue, 'two');
      await waitFor(() => seen.length === 2, 'second message on the same consumer');
      await waitForDepth(transport, queue, { ready: 0, inFlight: 0 });
      expect(seen).toEqual(['one', 'two']);
    });

    if (opts.maxMessageBytes === undefined) {
      it('carries a 10 MiB body and unicode byte for byte', async () => {
        const queue = await freshQueue('large');
        const body = jsonBody(TEN_MIB);
        await transport.publish(queue, body);
        const received: Buffer[] = [];
        await consume(queue, async (d) => {
          received.push(d.body);
          await transport.ack(d);
        });
        await waitFor(() => received.length === 1, 'the large message');
        expect(received[0]!.length).toBe(body.length);
        expect(received[0]!.equals(body)).toBe(true);
      });
    } else {
      const limit = opts.maxMessageBytes;
      it(`carries unicode up to its ${limit}-byte limit and refuses more as too_large`, async () => {
        const queue = await freshQueue('large');
        const body = jsonBody(limit);
        await transport.publish(queue, body);
        for (const size of [limit + 1, TEN_MIB]) {
          await expect(transport.publish(queue, jsonBody(size))).rejects.toMatchObject({
            name: 'TransportError',
            reason: 'too_large',
          });
        }
        const received: Buffer[] = [];
        await consume(queue, async (d) => {
          received.push(d.body);
          await transport.ack(d);
        });
        await waitFor(() => received.length === 1, 'the message at the limit');
        expect(received[0]!.equals(body)).toBe(true);
        // Nothing is left ready or unacked, so the refused publishes left nothing to deliver.
        await waitForDepth(transport, queue, { ready: 0, inFlight: 0 });
        expect(received).toHaveLength(1);
      });
    }
  });
}
