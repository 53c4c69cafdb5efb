/** zod helpers for platform settings, which may arrive as ConfigMap strings ("5672", "true"). */
import { z } from 'zod';
import { DEFAULT_QUEUE_POLICY } from '../protocol/queue-policy.ts';

export const configInt = () => z.preprocess((v) => (typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v), z.number().int());
export const configBool = () => z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());
export const secretKeyRef = z.object({ name: z.string().min(1), key: z.string().min(1) });

/** protocol/queue-policy.ts: who may create an actor's queue, and its dead-letter queue. Every broker has one. */
export const queuePolicySchema = z
  .strictObject({
    /** false: nobody creates queues (sidecars, crew and controller only check that they exist). */
    autoCreate: configBool().default(DEFAULT_QUEUE_POLICY.autoCreate),
    dlq: z
      .strictObject({
        enabled: configBool().default(DEFAULT_QUEUE_POLICY.dlq.enabled),
        /** Deliveries before a message moves to asya-<actor>-dlq (RabbitMQ delivery limit, SQS maxReceiveCount). */
        maxDeliveries: configInt().pipe(z.number().min(1)).default(DEFAULT_QUEUE_POLICY.dlq.maxDeliveries),
        /** Keep dead letters this many days (SQS allows at most 14). */
        retentionDays: configInt().pipe(z.number().min(1)).optional(),
      })
      .prefault({}),
  })
  .prefault({});
