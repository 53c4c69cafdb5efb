/**
 * The platform's queue policy (transports.<t>.queues, protocol/queue-policy.ts) as the controller applies
 * it: the same declaration options the actor's sidecar gets from inject-sidecar, and on SQS the tags
 * `asya.sh/actor`, `asya.sh/namespace` and the platform's `transports.sqs.tags` (the original's tags).
 */
import { transportOf, type AsyncActor } from '../api/index.ts';
import { readPlatformConfig } from '../krm-functions/platform-config.ts';
import { runtimeTimeoutMs } from '../krm-functions/sidecar-settings.ts';
import { DEFAULT_QUEUE_POLICY, policyQueueOptions, type QueuePolicy } from '../protocol/index.ts';
import type { QueueOptions } from '../transport/transport.ts';

export interface ActorQueuePolicy {
  autoCreate: boolean;
  options: QueueOptions;
}

export type QueuePolicyFor = (actor: AsyncActor) => ActorQueuePolicy;

/** For the platform settings (functionConfig); invalid settings fall back to the default policy (the KRM functions report them). */
export function queuePolicyFor(platform: unknown): QueuePolicyFor {
  const read = readPlatformConfig(platform);
  return (actor) => {
    const transport = transportOf(actor);
    const policy: QueuePolicy = read.ok ? read.config.transports[transport].queues : DEFAULT_QUEUE_POLICY;
    const tags = transport === 'sqs' ? { ...(read.ok ? read.config.transports.sqs.tags : {}), 'asya.sh/actor': actor.metadata.name, 'asya.sh/namespace': actor.metadata.namespace ?? 'default' } : undefined;
    return { autoCreate: policy.autoCreate, options: { ...policyQueueOptions(policy, runtimeTimeoutMs(actor)), ...(tags ? { tags } : {}) } };
  };
}
