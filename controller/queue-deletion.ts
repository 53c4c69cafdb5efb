/**
 * Whether deleting an AsyncActor deletes its queue: ASYA_QUEUE_DELETION.
 * - `delete` (default): the queue goes with the actor, as in the original.
 * - `never`: the queue stays. For queues several clusters share (the multi-cluster pattern): a cluster that
 *   drops its copy of an actor cannot know whether another cluster still consumes the queue, so no cluster
 *   deletes it; an operator does, once no cluster declares the actor any more.
 * Creation needs no coordination: every cluster declares the queue with the same arguments, and declaring
 * an existing queue is a no-op on RabbitMQ and SQS.
 */
import type { QueueAdmin } from './queues.ts';

export const QUEUE_DELETION_ENV = 'ASYA_QUEUE_DELETION';
export const QUEUE_DELETION = ['delete', 'never'] as const;
export type QueueDeletion = (typeof QUEUE_DELETION)[number];

export class QueueDeletionError extends Error {
  override readonly name = 'QueueDeletionError';
}

export function queueDeletionFromEnv(env: Record<string, string | undefined>): QueueDeletion {
  const raw = env[QUEUE_DELETION_ENV]?.trim() || 'delete';
  if (!(QUEUE_DELETION as readonly string[]).includes(raw)) {
    throw new QueueDeletionError(`${QUEUE_DELETION_ENV}=${JSON.stringify(raw)} must be one of ${QUEUE_DELETION.join(', ')}`);
  }
  return raw as QueueDeletion;
}

/** `admin` with the deletion policy applied: under `never`, removing an actor's queue keeps it. */
export function withQueueDeletion(admin: QueueAdmin, policy: QueueDeletion): QueueAdmin {
  if (policy === 'delete') return admin;
  return { ...admin, deletes: false, remove: async () => {} };
}
