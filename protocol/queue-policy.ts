/**
 * The queue policy: whether a participant may create an actor's queue, and its dead-letter queue (on or
 * off, after how many deliveries, how long dead letters are kept). It is set per transport in the platform
 * settings (`transports.<t>.queues`, krm-functions/platform-config.ts) and reaches every participant that
 * declares a queue as the same few variables: inject-sidecar writes them into the sidecar's env, the
 * sidecar, the crew and `asya dev` read them from theirs, and the controller derives the same values from
 * the platform settings. Declarations must agree (a broker refuses a second one with other arguments), so
 * the queue options come from one function, `policyQueueOptions`.
 */
import { fromEnv, toEnv, type FromEnvOptions } from '../settings/index.ts';
import { QUEUE_MAX_DELIVERIES } from './queues.ts';
import { QUEUE_POLICY_SETTINGS } from './settings.ts';

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

/** The env that carries a policy, only for what differs from the default (so default manifests stay as they were). */
export function queuePolicyEnv(policy: QueuePolicy): { name: string; value: string }[] {
  const deliveries = policy.dlq.enabled ? policy.dlq.maxDeliveries : 0;
  return toEnv(QUEUE_POLICY_SETTINGS, {
    ...(policy.autoCreate ? {} : { autoCreate: false }),
    ...(deliveries !== QUEUE_MAX_DELIVERIES ? { maxDeliveries: deliveries } : {}),
    ...(policy.dlq.enabled && policy.dlq.retentionDays !== undefined ? { dlqRetentionDays: policy.dlq.retentionDays } : {}),
  });
}

/** The policy from values read with QUEUE_POLICY_SETTINGS' declarations (the sidecar's table includes them). */
export function queuePolicyOf({ autoCreate, maxDeliveries, dlqRetentionDays }: { autoCreate: boolean; maxDeliveries: number; dlqRetentionDays?: number | undefined }): QueuePolicy {
  return {
    autoCreate,
    dlq: { enabled: maxDeliveries > 0, maxDeliveries: maxDeliveries > 0 ? maxDeliveries : QUEUE_MAX_DELIVERIES, ...(dlqRetentionDays !== undefined ? { retentionDays: dlqRetentionDays } : {}) },
  };
}

/** The policy from an env of its own; a bad value throws the settings engine's SettingsError naming the variable. */
export function queuePolicyFromEnv(env: Record<string, string | undefined>, options?: FromEnvOptions): QueuePolicy {
  return queuePolicyOf(fromEnv(QUEUE_POLICY_SETTINGS, env, options));
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
