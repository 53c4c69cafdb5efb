/**
 * The one seam between Asya and a message broker. Every implementation (memory and the brokers of
 * registry.ts) passes the same conformance suite in transport/conformance.case.ts.
 *
 * Semantics every implementation guarantees:
 * - publish() resolves only after the broker has taken responsibility for the message (publisher confirm,
 *   SQS 200, memory enqueue). A message that cannot be routed rejects; it is never dropped silently.
 * - A delivery is handed to exactly one handler at a time and stays unacknowledged until ack() or nack().
 * - nack(d, { requeue: true }) makes the message available again and increments its delivery count.
 * - After `maxDeliveries` deliveries a queue created with a DLQ moves the message to `<queue>-dlq`.
 * - Consumer.stop() stops taking new deliveries, waits for handlers in flight, and returns every delivery
 *   that was received but not started to the queue.
 *
 * The handler rule (a consumer never dies because of its handler):
 * - A handler settles its delivery (ack or nack) before its promise resolves.
 * - If the handler throws, or resolves without settling, the transport nacks the delivery with requeue and
 *   logs a warning. That redelivery counts toward `maxDeliveries`, so a poison message ends in the DLQ
 *   instead of looping forever. The consumer goes on with the next delivery.
 * - ack/nack of an already settled delivery is a no-op. ack/nack of a delivery whose broker session is gone
 *   (RabbitMQ channel lost, transport closed) is a no-op with a warning: the broker has already taken the
 *   message back, and acting on it through a new session could settle a different message.
 * - nack(d, { requeue: false }) gives the message up: it moves to `<queue>-dlq` when the queue was created
 *   with `maxDeliveries`; otherwise it is discarded (memory and SQS log a warning, RabbitMQ drops it).
 */

import type { MaybeTerminal } from '../protocol/errors.ts';
import type { TransportName } from '../protocol/transports.ts';

export interface Delivery {
  /** Queue the message came from. */
  readonly queue: string;
  readonly body: Buffer;
  /** 1 on first delivery; grows on every redelivery (nack, crash, visibility expiry). */
  readonly deliveryCount: number;
  /** Broker message id when the broker has one. */
  readonly messageId?: string;
}

/**
 * A handler's place among the consumer's `concurrency`. Released early, the next delivery may start while
 * this handler finishes (it still settles its delivery, and a stop still waits for it).
 */
export interface HandlerSlot {
  release(): void;
}

export type DeliveryHandler = (delivery: Delivery, slot: HandlerSlot) => Promise<void>;

export interface ConsumeOptions {
  /** Deliveries handled at once (RabbitMQ's prefetch is one more: rabbitmq-consumer.ts). Default 1. */
  concurrency?: number;
}

export interface Consumer {
  /** Stop receiving, wait for in-flight handlers, requeue what was received but not started. */
  stop(): Promise<void>;
}

export interface QueueOptions {
  /** Create `<queue>-dlq` and move messages there after this many deliveries. Default: no DLQ. */
  maxDeliveries?: number;
  /**
   * How long a consumer may hold a delivery before the broker takes it back (RabbitMQ x-consumer-timeout,
   * SQS visibility timeout). Must exceed the actor's runtime timeout.
   */
  processingTimeoutMs?: number;
  /** With maxDeliveries: keep dead letters this long (SQS MessageRetentionPeriod, at most 14 days; RabbitMQ x-message-ttl on the DLQ). */
  dlqRetentionMs?: number;
  /** SQS tags, on the queue and its DLQ (the memory and RabbitMQ transports have none). */
  tags?: Record<string, string>;
}

export interface QueueDepth {
  /** Waiting to be delivered. */
  ready: number;
  /** Delivered and not yet acknowledged. */
  inFlight: number;
  /** Published with a delay that has not yet passed (0 where the broker cannot tell). */
  delayed: number;
}

export interface PublishOptions {
  /** Deliver no earlier than this many milliseconds from now. */
  delayMs?: number;
}

export interface Transport {
  readonly kind: 'memory' | TransportName;
  ensureQueue(queue: string, options?: QueueOptions): Promise<void>;
  deleteQueue(queue: string): Promise<void>;
  queueDepth(queue: string): Promise<QueueDepth>;
  publish(queue: string, body: Buffer, options?: PublishOptions): Promise<void>;
  consume(queue: string, handler: DeliveryHandler, options?: ConsumeOptions): Promise<Consumer>;
  ack(delivery: Delivery): Promise<void>;
  nack(delivery: Delivery, options?: { requeue?: boolean }): Promise<void>;
  close(): Promise<void>;
}

/** The dead-letter queue every transport pairs with `queue` when it is created with `maxDeliveries`. */
export function deadLetterQueueOf(queue: string): string {
  return `${queue}-dlq`;
}

export type TransportErrorReason = 'unroutable' | 'not_found' | 'closed' | 'rejected' | 'too_large' | 'unavailable';

/**
 * Refusals that come back the same however often the message is published: no queue to route it to, or too
 * large for the broker. The others may pass (the broker is away, the channel closed, a nack under load).
 */
const TERMINAL_REASONS: ReadonlySet<TransportErrorReason> = new Set(['unroutable', 'too_large']);

export class TransportError extends Error implements MaybeTerminal {
  override readonly name = 'TransportError';
  constructor(
    message: string,
    readonly reason: TransportErrorReason,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get terminal(): boolean {
    return TERMINAL_REASONS.has(this.reason);
  }
}
