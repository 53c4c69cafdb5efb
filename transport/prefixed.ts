/**
 * ASYA_QUEUE_PREFIX: every participant (sidecars, gateway, crew) addresses queues by their logical names
 * (`asya-<actor>`); this wrapper gives them a physical prefix on the broker, so that teams or environments
 * can share one RabbitMQ vhost or SQS account. Deliveries pass through untouched: transports track them
 * by identity, and their `queue` (the physical name) is only used in logs.
 */
import type { ConsumeOptions, Consumer, Delivery, DeliveryHandler, PublishOptions, QueueDepth, QueueOptions, Transport } from './transport.ts';

export function withQueuePrefix(inner: Transport, prefix: string): Transport {
  if (!prefix) return inner;
  const name = (queue: string) => prefix + queue;
  return {
    kind: inner.kind,
    ensureQueue: (queue: string, options?: QueueOptions) => inner.ensureQueue(name(queue), options),
    deleteQueue: (queue: string) => inner.deleteQueue(name(queue)),
    queueDepth: (queue: string): Promise<QueueDepth> => inner.queueDepth(name(queue)),
    publish: (queue: string, body: Buffer, options?: PublishOptions) => inner.publish(name(queue), body, options),
    consume: (queue: string, handler: DeliveryHandler, options?: ConsumeOptions): Promise<Consumer> => inner.consume(name(queue), handler, options),
    ack: (delivery: Delivery) => inner.ack(delivery),
    nack: (delivery: Delivery, options?: { requeue?: boolean }) => inner.nack(delivery, options),
    close: () => inner.close(),
  };
}
