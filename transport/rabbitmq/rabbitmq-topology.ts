/**
 * RabbitMQ queue arguments and naming, kept pure so the choices below are unit-testable without a broker.
 *
 * Why quorum queues (checked against a stock RabbitMQ 3.10.8 broker):
 * - A quorum queue counts every return of a message: nack with requeue AND the implicit return when a
 *   consumer's channel or connection dies. It exposes the count as the `x-delivery-count` header (absent on
 *   the first delivery) and dead-letters after `x-delivery-limit` returns. A consumer that crashes on a
 *   poison message therefore still ends in the DLQ.
 * - A classic queue only has the `redelivered` flag. Counting ourselves would need a header we cannot
 *   rewrite on a broker-side requeue, so crash loops would be invisible and unbounded.
 * - Cost: on 3.10 a delivery that was received but never started still counts when returned (there is no
 *   "not failed" return before RabbitMQ 4), so maxDeliveries should leave headroom for drains.
 * Queues created by the original (classic, no arguments) stay usable: see RabbitMqTransport.ensureQueue.
 */
import type { ConsumeMessage } from 'amqplib';
import { deadLetterQueueOf, type QueueOptions } from '../transport.ts';
import { errorText } from '../../protocol/errors.ts';

/** Extra time the broker grants beyond the runtime timeout, for routing and publisher confirms. */
export const CONSUMER_TIMEOUT_MARGIN_MS = 60_000;
/** A holding queue outlives its last message by this much, then the broker deletes it. */
export const HOLDING_QUEUE_GRACE_MS = 60_000;
/** Actor names cannot contain a dot, so this separator never collides with an actor's queue. */
const HOLDING_SEPARATOR = '.delay.';

export function queueArguments(queue: string, options: QueueOptions = {}): Record<string, unknown> {
  const args: Record<string, unknown> = { 'x-queue-type': 'quorum' };
  if (options.maxDeliveries !== undefined) {
    if (!Number.isInteger(options.maxDeliveries) || options.maxDeliveries < 1) {
      throw new RangeError(`maxDeliveries must be a positive integer, got ${options.maxDeliveries}`);
    }
    // x-delivery-limit counts returns, not deliveries: limit N allows N + 1 deliveries (0 is valid: 1 delivery).
    args['x-delivery-limit'] = options.maxDeliveries - 1;
    // The default exchange routes by queue name, so dead-lettering needs no binding of its own.
    args['x-dead-letter-exchange'] = '';
    args['x-dead-letter-routing-key'] = deadLetterQueueOf(queue);
  }
  if (options.processingTimeoutMs !== undefined) {
    // Honoured by RabbitMQ >= 3.12; 3.10 accepts and ignores it (its broker-wide consumer_timeout applies).
    args['x-consumer-timeout'] = Math.ceil(options.processingTimeoutMs) + CONSUMER_TIMEOUT_MARGIN_MS;
  }
  return args;
}

/**
 * Rounds a delay up to two significant digits. Delays only promise "not before", and error-end's jittered
 * backoff would otherwise create one holding queue per distinct millisecond value.
 */
export function bucketDelay(delayMs: number): number {
  const ms = Math.max(1, Math.ceil(delayMs));
  if (ms < 100) return ms;
  const unit = 10 ** (Math.floor(Math.log10(ms)) - 1);
  return Math.ceil(ms / unit) * unit;
}

export interface HoldingQueue {
  name: string;
  arguments: Record<string, unknown>;
}

/**
 * Delays without the delayed-message plugin: a per-(target, delay) classic queue whose queue-level TTL
 * dead-letters each message into the target through the default exchange. All messages in one holding
 * queue share the TTL, so expiry order equals FIFO order and nothing waits behind a longer-lived message.
 * `x-expires` deletes the queue once idle; the publisher redeclares it before every publish, which resets
 * that clock, so the queue always outlives the messages in it.
 */
export function holdingQueue(target: string, bucketedDelayMs: number): HoldingQueue {
  return {
    name: `${target}${HOLDING_SEPARATOR}${bucketedDelayMs}`,
    arguments: {
      'x-message-ttl': bucketedDelayMs,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': target,
      'x-expires': bucketedDelayMs + HOLDING_QUEUE_GRACE_MS,
    },
  };
}

/**
 * Quorum queues report returns in `x-delivery-count`. A classic queue (one the original created) only says
 * `redelivered`, so 2 is then a lower bound.
 */
export function deliveryCountOf(message: Pick<ConsumeMessage, 'fields' | 'properties'>): number {
  const header: unknown = message.properties.headers?.['x-delivery-count'];
  const returns = typeof header === 'number' ? header : typeof header === 'bigint' ? Number(header) : undefined;
  if (returns !== undefined) return returns + 1;
  return message.fields.redelivered ? 2 : 1;
}

/** AMQP reply code from an amqplib error (404 NOT_FOUND, 406 PRECONDITION_FAILED, ...). */
export function amqpCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * The broker's limit when it closed a channel over a message's size (406 PRECONDITION_FAILED, "message size
 * 2000000 is larger than configured max size 1048576": `max_message_size`, 128 MiB by default on 3.x and
 * 16 MiB on 4.x); undefined for any other error.
 */
export function maxMessageSizeOfRefusal(err: unknown): number | undefined {
  if (amqpCode(err) !== 406) return undefined;
  const match = /message size \d+ is larger than (?:configured )?max size (\d+)/.exec(errorText(err) ?? '');
  return match ? Number(match[1]) : undefined;
}
