/**
 * In-process transport for `asya dev` and fast tests. It keeps the broker semantics that the rest of Asya
 * relies on (delivery counts, DLQ, delays, refusing unroutable publishes) so code that works here works on
 * RabbitMQ and SQS.
 */
import { randomUUID } from 'node:crypto';
import { concurrencyOf, HandlerPool, runHandler } from './dispatch.ts';
import { stderrLogger, type TransportLogger } from './log.ts';
import {
  deadLetterQueueOf,
  TransportError,
  type ConsumeOptions,
  type Consumer,
  type Delivery,
  type DeliveryHandler,
  type PublishOptions,
  type QueueDepth,
  type QueueOptions,
  type Transport,
} from './transport.ts';

interface StoredMessage {
  readonly body: Buffer;
  readonly messageId: string;
  deliveries: number;
}

interface MemoryQueue {
  readonly name: string;
  readonly ready: StoredMessage[];
  inFlight: number;
  delayed: number;
  maxDeliveries?: number;
  readonly consumers: MemoryConsumer[];
  nextConsumer: number;
}

interface DeliveryState {
  readonly queue: MemoryQueue;
  readonly message: StoredMessage;
  settled: boolean;
}

export interface MemoryTransportOptions {
  logger?: TransportLogger;
}

export class MemoryTransport implements Transport {
  readonly kind = 'memory' as const;
  private readonly queues = new Map<string, MemoryQueue>();
  private readonly states = new WeakMap<Delivery, DeliveryState>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly log: TransportLogger;
  private closed = false;

  constructor(options: MemoryTransportOptions = {}) {
    this.log = options.logger ?? stderrLogger;
  }

  async ensureQueue(queue: string, options: QueueOptions = {}): Promise<void> {
    this.assertOpen();
    const q = this.queues.get(queue) ?? this.createQueue(queue);
    if (options.maxDeliveries !== undefined) {
      if (!Number.isInteger(options.maxDeliveries) || options.maxDeliveries < 1) {
        throw new RangeError(`maxDeliveries must be a positive integer, got ${options.maxDeliveries}`);
      }
      q.maxDeliveries = options.maxDeliveries;
      if (!this.queues.has(deadLetterQueueOf(queue))) this.createQueue(deadLetterQueueOf(queue));
    }
  }

  async deleteQueue(queue: string): Promise<void> {
    const q = this.queues.get(queue);
    if (!q) return;
    this.queues.delete(queue);
    for (const consumer of q.consumers) consumer.detach();
  }

  async queueDepth(queue: string): Promise<QueueDepth> {
    const q = this.existing(queue, 'not_found');
    return { ready: q.ready.length, inFlight: q.inFlight, delayed: q.delayed };
  }

  async publish(queue: string, body: Buffer, options: PublishOptions = {}): Promise<void> {
    this.assertOpen();
    const q = this.existing(queue, 'unroutable');
    // Copy so a caller reusing its buffer cannot change a message that is already "on the broker".
    const message: StoredMessage = { body: Buffer.from(body), messageId: randomUUID(), deliveries: 0 };
    const delayMs = options.delayMs ?? 0;
    if (delayMs <= 0) {
      this.enqueue(q, message);
      return;
    }
    q.delayed++;
    this.schedule(performance.now() + delayMs, () => {
      q.delayed--;
      if (this.queues.get(queue) === q) this.enqueue(q, message);
      else this.log.warn('delayed message dropped: its queue was deleted', { queue });
    });
  }

  async consume(queue: string, handler: DeliveryHandler, options?: ConsumeOptions): Promise<Consumer> {
    this.assertOpen();
    const q = this.existing(queue, 'not_found');
    const consumer = new MemoryConsumer(this, q, handler, concurrencyOf(options));
    q.consumers.push(consumer);
    this.dispatchSoon(q);
    return consumer;
  }

  async ack(delivery: Delivery): Promise<void> {
    this.settle(delivery);
  }

  async nack(delivery: Delivery, options: { requeue?: boolean } = {}): Promise<void> {
    const state = this.settle(delivery);
    if (!state || this.queues.get(state.queue.name) !== state.queue) return;
    const { queue: q, message } = state;
    const exhausted = q.maxDeliveries !== undefined && message.deliveries >= q.maxDeliveries;
    if (options.requeue === false || exhausted) this.deadLetter(q, message);
    else this.enqueue(q, message);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const q of this.queues.values()) for (const consumer of q.consumers) consumer.detach();
  }

  /** Called by consumers: hands out the next ready message, or undefined. */
  takeNext(q: MemoryQueue): Delivery | undefined {
    const message = q.ready.shift();
    if (!message) return undefined;
    message.deliveries++;
    q.inFlight++;
    const delivery: Delivery = Object.freeze({
      queue: q.name,
      body: message.body,
      deliveryCount: message.deliveries,
      messageId: message.messageId,
    });
    this.states.set(delivery, { queue: q, message, settled: false });
    return delivery;
  }

  isSettled(delivery: Delivery): boolean {
    return this.states.get(delivery)?.settled ?? true;
  }

  get logger(): TransportLogger {
    return this.log;
  }

  dispatchSoon(q: MemoryQueue): void {
    // Deferred so publish() and ack() never run a handler inside the caller's stack.
    setImmediate(() => this.dispatch(q));
  }

  private dispatch(q: MemoryQueue): void {
    while (q.ready.length > 0) {
      const ready = q.consumers.filter((c) => c.free > 0);
      if (ready.length === 0) return;
      const consumer = ready[q.nextConsumer++ % ready.length]!;
      consumer.deliverFrom(q);
    }
  }

  private settle(delivery: Delivery): DeliveryState | undefined {
    const state = this.states.get(delivery);
    if (!state) throw new TypeError('not a delivery of this MemoryTransport');
    if (state.settled) return undefined;
    state.settled = true;
    state.queue.inFlight--;
    if (this.closed) {
      this.log.warn('ack/nack after close ignored', { queue: delivery.queue, messageId: delivery.messageId });
      return undefined;
    }
    this.dispatchSoon(state.queue);
    return state;
  }

  private deadLetter(q: MemoryQueue, message: StoredMessage): void {
    const dlq = this.queues.get(deadLetterQueueOf(q.name));
    if (!dlq) {
      this.log.warn('message discarded: queue has no DLQ', { queue: q.name, messageId: message.messageId });
      return;
    }
    this.enqueue(dlq, { body: message.body, messageId: message.messageId, deliveries: 0 });
  }

  private enqueue(q: MemoryQueue, message: StoredMessage): void {
    q.ready.push(message);
    this.dispatchSoon(q);
  }

  /** setTimeout may fire a millisecond early against the monotonic clock; "not before" must hold exactly. */
  private schedule(dueAt: number, fire: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.closed) return;
      if (performance.now() < dueAt) this.schedule(dueAt, fire);
      else fire();
    }, Math.max(0, Math.ceil(dueAt - performance.now())));
    this.timers.add(timer);
  }

  private createQueue(name: string): MemoryQueue {
    const q: MemoryQueue = { name, ready: [], inFlight: 0, delayed: 0, consumers: [], nextConsumer: 0 };
    this.queues.set(name, q);
    return q;
  }

  private existing(queue: string, reason: 'unroutable' | 'not_found'): MemoryQueue {
    const q = this.queues.get(queue);
    if (!q) throw new TransportError(`queue ${queue} does not exist`, reason);
    return q;
  }

  private assertOpen(): void {
    if (this.closed) throw new TransportError('transport is closed', 'closed');
  }
}

class MemoryConsumer implements Consumer {
  private readonly pool: HandlerPool;
  private stopped = false;

  constructor(
    private readonly transport: MemoryTransport,
    private readonly q: MemoryQueue,
    private readonly handler: DeliveryHandler,
    concurrency: number,
  ) {
    this.pool = new HandlerPool(concurrency, () => this.transport.dispatchSoon(this.q));
  }

  get free(): number {
    return this.stopped ? 0 : this.pool.free;
  }

  deliverFrom(q: MemoryQueue): void {
    const delivery = this.transport.takeNext(q);
    if (!delivery) return;
    this.pool.start((slot) =>
      runHandler(
        this.handler,
        delivery,
        {
          isSettled: () => this.transport.isSettled(delivery),
          requeue: () => this.transport.nack(delivery, { requeue: true }),
        },
        this.transport.logger,
        slot,
      ),
    );
  }

  /** Memory hands a message out only when a slot is free, so nothing is ever received but not started. */
  async stop(): Promise<void> {
    this.detach();
    await this.pool.drain();
  }

  detach(): void {
    this.stopped = true;
    const index = this.q.consumers.indexOf(this);
    if (index >= 0) this.q.consumers.splice(index, 1);
  }
}
