/**
 * Queue provisioning for the controller: one admin connection per transport the actors use, opened on
 * first need from the same ASYA_* settings the sidecars read. ASYA_DISABLE_QUEUE_MANAGEMENT=true (the
 * original's switch) leaves queues to the sidecars, which create their own on start.
 */
import { transportOf, type AsyncActor, type TransportName } from '../api/index.ts';
import { actorQueueOptions, DLQ_QUEUE, ERROR_END, queueName } from '../protocol/index.ts';
import { runtimeTimeoutMs } from '../krm-functions/sidecar-settings.ts';
import { createTransport, type TransportEnv } from '../transport/factory.ts';
import type { QueueDepth, Transport } from '../transport/transport.ts';
import type { QueuePolicyFor } from './queue-policy.ts';

export interface QueueAdmin {
  /** False when queues are left to the sidecars (ASYA_DISABLE_QUEUE_MANAGEMENT). */
  readonly manages: boolean;
  /** False when deleting an actor keeps its queue (ASYA_QUEUE_DELETION=never, queue-deletion.ts). */
  readonly deletes?: boolean;
  ensure(actor: AsyncActor): Promise<void>;
  remove(actor: AsyncActor): Promise<void>;
  depth(actor: AsyncActor): Promise<QueueDepth | undefined>;
  close(): Promise<void>;
}

export const noQueueManagement: QueueAdmin = {
  manages: false,
  ensure: async () => {},
  remove: async () => {},
  depth: async () => undefined,
  close: async () => {},
};

/** The queue options the actor's sidecar will pass, so that both declare the queue identically. */
export function queueOptionsFor(actor: AsyncActor) {
  return actorQueueOptions(runtimeTimeoutMs(actor));
}

/**
 * `connect` opens the admin connection for a transport (default: from env); tests may give any Transport.
 * `policy`: the platform's queue policy (queue-policy.ts); default: create, with the default DLQ.
 */
export function transportQueueAdmin(
  env: TransportEnv,
  connect: (kind: TransportName) => Promise<Transport> = (kind) => createTransport({ ...env, ASYA_TRANSPORT: kind }),
  policy: QueuePolicyFor = (actor) => ({ autoCreate: true, options: queueOptionsFor(actor) }),
): QueueAdmin {
  const open = new Map<TransportName, Promise<Transport>>();
  const transportFor = (actor: AsyncActor) => {
    const kind = transportOf(actor);
    let t = open.get(kind);
    if (!t) {
      t = connect(kind);
      // A failed connection is retried on the next reconcile, not cached.
      t.catch(() => open.delete(kind));
      open.set(kind, t);
    }
    return t;
  };
  return {
    manages: true,
    async ensure(actor) {
      const transport = await transportFor(actor);
      const { autoCreate, options } = policy(actor);
      if (!autoCreate) {
        // The platform team creates queues: only check that this one exists.
        await transport.queueDepth(queueName(actor.metadata.name)).catch((err: Error) => {
          throw new Error(`does not exist and queues.autoCreate is false (create it on the broker): ${err.message}`);
        });
        return;
      }
      await transport.ensureQueue(queueName(actor.metadata.name), options);
      // Where error-end puts dead letters (the sidecar creates it too; the controller makes it exist first).
      if (actor.metadata.name === ERROR_END) await transport.ensureQueue(DLQ_QUEUE);
    },
    async remove(actor) {
      await (await transportFor(actor)).deleteQueue(queueName(actor.metadata.name));
    },
    async depth(actor) {
      return (await transportFor(actor)).queueDepth(queueName(actor.metadata.name));
    },
    async close() {
      const all = await Promise.allSettled(open.values());
      await Promise.all(all.flatMap((r) => (r.status === 'fulfilled' ? [r.value.close()] : [])));
    },
  };
}
