/**
 * The queue policy: whether a participant may create an actor's queue, and its dead-letter queue (on or
 * off, after how many deliveries, how long dead letters are kept). It is set per transport in the platform
 * settings (`transports.<t>.queues`, krm-functions/platform-config.ts) and reaches every participant that
 * declares a queue as the same few variables: inject-sidecar writes them into the sidecar's env, the
 * sidecar, the crew and `asya dev` read them from theirs, and the controller derives the same values from
 * the platform settings. Declarations must agree (a broker refuses a second one with other arguments), so
 * the queue options come from one function, `policyQueueOptions`.
 */
import { QUEUE_MAX_DELIVERIES } from './queues.ts';

export interface QueuePolicy {
  /** false: nobody creates the queue; it must exist (created by the platform team). */
  autoCreate: boolean;
  dlq: {
    enabled: boolean;
    /** Deliveries before a message is dead-lettered (RabbitMQ x-delivery-limit + 1, SQS maxReceiveCount). */
    maxDeliveries: number;
    /** How long dead letters are kept (SQS MessageRetentionPeriod; RabbitMQ x-message-ttl on the DLQ). */
    retentionDays?: number;
  };
}

export const DEFAULT_QUEUE_POLICY: QueuePolicy = { autoCreate: true, dlq: { enabled: true, maxDeliveries: QUEUE_MAX_DELIVERIES } };

export const QUEUE_POLICY_ENV = {
  autoCreate: 'ASYA_QUEUE_AUTO_CREATE',
  /** "0": no dead-letter queue. */
  maxDeliveries: 'ASYA_QUEUE_MAX_DELIVERIES',
  dlqRetentionDays: 'ASYA_QUEUE_DLQ_RETENTION_DAYS',
} as const;

export class QueuePolicyError extends Error {
  override readonly name = 'QueuePolicyError';
}

/** The env that carries a policy, only for what differs from the default (so default manifests stay as they were). */
export function queuePolicyEnv(policy: QueuePolicy): { name: string; value: string }[] {
  const env: { name: string; value: string }[] = [];
  if (!policy.autoCreate) env.push({ name: QUEUE_POLICY_ENV.autoCreate, value: 'false' });
  const deliveries = policy.dlq.enabled ? policy.dlq.maxDeliveries : 0;
  if (deliveries !== QUEUE_MAX_DELIVERIES) env.push({ name: QUEUE_POLICY_ENV.maxDeliveries, value: String(deliveries) });
  if (policy.dlq.enabled && policy.dlq.retentionDays !== undefined) env.push({ name: QUEUE_POLICY_ENV.dlqRetentionDays, value: String(policy.dlq.retentionDays) });
  return env;
}

function wholeNumber(env: Record<string, string | undefined>, name: string, min: number): number | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < min) throw new QueuePolicyError(`${name}=${JSON.stringify(raw)} must be a whole number of at least ${min}`);
  return Number(raw);
}

export function queuePolicyFromEnv(env: Record<string, string | undefined>): QueuePolicy {
  const auto = env[QUEUE_POLICY_ENV.autoCreate]?.trim();
  if (auto && auto !== 'true' && auto !== 'false') throw new QueuePolicyError(`${QUEUE_POLICY_ENV.autoCreate}=${JSON.stringify(auto)} must be true or false`);
  const deliveries = wholeNumber(env, QUEUE_POLICY_ENV.maxDeliveries, 0) ?? QUEUE_MAX_DELIVERIES;
  const retentionDays = wholeNumber(env, QUEUE_POLICY_ENV.dlqRetentionDays, 1);
  return {
    autoCreate: auto !== 'false',
    dlq: { enabled: deliveries > 0, maxDeliveries: deliveries > 0 ? deliveries : QUEUE_MAX_DELIVERIES, ...(retentionDays !== undefined ? { retentionDays } : {}) },
  };
}

/** How an actor's queue is declared under a policy: the processing timeout doubled, and the DLQ if on. */
export function policyQueueOptions(policy: QueuePolicy, runtimeTimeoutMs: number): { processingTimeoutMs: number; maxDeliveries?: number; dlqRetentionMs?: number } {
  const { dlq } = policy;
  return {
    processingTimeoutMs: runtimeTimeoutMs * 2,
    ...(dlq.enabled ? { maxDeliveries: dlq.maxDeliveries } : {}),
    ...(dlq.enabled && dlq.retentionDays !== undefined ? { dlqRetentionMs: dlq.retentionDays * 86_400_000 } : {}),
  };
}

/** What the sidecar (and the crew) get as their queue settings: `maxDeliveries` present but undefined means no DLQ. */
export function sidecarQueueSettings(policy: QueuePolicy): { autoCreate: boolean; maxDeliveries: number | undefined; dlqRetentionMs?: number } {
  const { maxDeliveries, dlqRetentionMs } = policyQueueOptions(policy, 0);
  return { autoCreate: policy.autoCreate, maxDeliveries, ...(dlqRetentionMs !== undefined ? { dlqRetentionMs } : {}) };
}
