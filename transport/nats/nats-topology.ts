/**
 * How Asya queues map onto NATS JetStream, kept pure so the choices are unit-testable without a server.
 * The reasons are written up in docs/transports.md ("NATS JetStream").
 *
 * - One stream per queue, work-queue retention: a message leaves the stream when it is acked, so the stream's
 *   message count is the queue's depth, and deleting a queue is deleting one stream.
 * - One durable pull consumer per stream (`asya`), shared by every replica of the actor.
 * - Delayed messages wait in a second stream, `<queue>_delayed` (an underscore never occurs in a queue name,
 *   so it cannot collide with an actor's queue), under a subject that carries the due time. A consumer of the
 *   queue moves due messages into the queue. JetStream 2.9 has no scheduled delivery, and a "not before"
 *   header answered by nak(delay) would count every early look as a delivery (and toward the DLQ).
 * - A requeue (nack with requeue) publishes the message again with its delivery count so far in a header and
 *   acks the delivery. A JetStream nak would keep the message counted as pending on the consumer until someone
 *   pulls again, so a queue with no consumer would show requeued messages as in flight for ever.
 * - The server's max_deliver stays unlimited: a message that reached it would stay in a work-queue stream,
 *   undeliverable and uncounted. The transport itself moves a message to `<queue>-dlq` once its delivery
 *   count reaches maxDeliveries, which it reads back from the consumer's description.
 */
import { AckPolicy, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType, type ConsumerConfig, type StreamConfig } from '@nats-io/jetstream';
import type { QueueOptions } from '../transport.ts';
import { CONSUMER_NAME } from './consumer-name.ts';

/** Every subject Asya publishes on starts with this token. */
export const SUBJECT_ROOT = 'asya';
export { CONSUMER_NAME };
const DELAYED_SUFFIX = '_delayed';
const MAX_DELIVERIES_MARK = /asya:max-deliveries=(\d+)/;

/** Deliveries a message had before it was published again by a requeue. */
export const DELIVERIES_HEADER = 'Asya-Deliveries';

/** The delivery count of a message: earlier deliveries carried in the header, plus the server's count of this copy. */
export function deliveriesOf(header: string | undefined, serverCount: number): number {
  const before = header !== undefined && /^\d+$/.test(header) ? Number(header) : 0;
  return before + serverCount;
}

export interface NatsTopologySettings {
  /** Stream replicas (1 on a single server; 3 on a cluster). */
  replicas: number;
  /** How long the server waits for an ack (renewed by in-progress acks while a handler runs). */
  ackWaitMs: number;
}

export const queueSubject = (queue: string): string => `${SUBJECT_ROOT}.q.${queue}`;
export const delayedStreamOf = (queue: string): string => `${queue}${DELAYED_SUFFIX}`;
const delayedSubjects = (queue: string): string => `${SUBJECT_ROOT}.delayed.${queue}.*`;

/** The subject of a message that is due at `dueAtMs` (epoch milliseconds). */
export const delayedSubject = (queue: string, dueAtMs: number): string =>
  `${SUBJECT_ROOT}.delayed.${queue}.${Math.ceil(dueAtMs)}`;

/** The due time a delayed subject carries; 0 (due now) for a subject this module did not write. */
export function dueAtOf(subject: string): number {
  const last = subject.slice(subject.lastIndexOf('.') + 1);
  return /^\d+$/.test(last) ? Number(last) : 0;
}

/** Stream names may not contain `.`, `*`, `>` or whitespace; queue names are lowercase letters, digits and `-`. */
export function assertQueueName(queue: string): void {
  if (!/^[A-Za-z0-9_-]+$/.test(queue)) throw new RangeError(`"${queue}" cannot name a NATS stream (letters, digits, - and _ only)`);
}

export function streamConfig(queue: string, settings: NatsTopologySettings): Partial<StreamConfig> & { name: string } {
  return {
    name: queue,
    subjects: [queueSubject(queue)],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    num_replicas: settings.replicas,
  };
}

export function delayedStreamConfig(queue: string, settings: NatsTopologySettings): Partial<StreamConfig> & { name: string } {
  return { ...streamConfig(queue, settings), name: delayedStreamOf(queue), subjects: [delayedSubjects(queue)] };
}

export function consumerConfig(settings: NatsTopologySettings, options: QueueOptions = {}): Partial<ConsumerConfig> {
  const max = options.maxDeliveries;
  if (max !== undefined && (!Number.isInteger(max) || max < 1)) {
    throw new RangeError(`maxDeliveries must be a positive integer, got ${max}`);
  }
  return {
    durable_name: CONSUMER_NAME,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: settings.ackWaitMs * 1_000_000,
    max_deliver: -1,
    description: max === undefined ? 'asya queue' : `asya queue; asya:max-deliveries=${max}`,
  };
}

/** The delayed stream's consumer holds every waiting message at once (nak with a delay), so it has no cap. */
export function delayedConsumerConfig(settings: NatsTopologySettings): Partial<ConsumerConfig> {
  return { ...consumerConfig(settings), max_ack_pending: -1, description: 'asya delayed messages' };
}

/** maxDeliveries as ensureQueue recorded it; undefined when the queue has no DLQ. */
export function maxDeliveriesOf(description: string | undefined): number | undefined {
  const found = description?.match(MAX_DELIVERIES_MARK)?.[1];
  return found === undefined ? undefined : Number(found);
}
