/**
 * Whether deleting an AsyncActor deletes its queue: ASYA_QUEUE_DELETION.
 * - `delete` (default): the queue goes with the actor, as in the original.
 * - `never`: the queue stays. For queues several clusters share (the multi-cluster pattern): a cluster that
 *   drops its copy of an actor cannot know whether another cluster still consumes the queue, so no cluster
 *   deletes it; an operator does, once no cluster declares the actor any more.
 * Creation needs no coordination: every cluster declares the queue with the same arguments, and declaring
 * an existing queue is a no-op on RabbitMQ and SQS.
 */
import { fromEnv, pickSettings } from '../settings/index.ts';
import type { QueueAdmin } from './queues.ts';
import { CONTROLLER_SETTINGS, QUEUE_DELETION } from './settings.ts';

export type QueueDeletion = (typeof QUEUE_DELETION)[number];

const DELETION_SETTINGS = pickSettings(CONTROLLER_SETTINGS, ['queueDeletion']);

export function queueDeletionFromEnv(env: Record<string, string | undefined>): QueueDeletion {
  return fromEnv(DELETION_SETTINGS, env).queueDeletion;
}

/** `admin` with the deletion policy applied: under `never`, removing an actor's queue keeps it. */
export function withQueueDeletion(admin: QueueAdmin, policy: QueueDeletion): QueueAdmin {
  if (policy === 'delete') return admin;
  return { ...admin, deletes: false, remove: async () => {} };
}
