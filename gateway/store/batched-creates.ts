/**
 * Plain envelope creates, group-committed (group-commit.ts). One bad envelope must not fail the calls that
 * happened to share its batch: when the server refuses a batch, each envelope is written on its own and
 * gets its own answer. A lost connection fails the whole batch instead, since the batch may or may not have
 * committed and writing it again could report a stored envelope as a duplicate.
 */
import type { SqlExecutor } from './driver.ts';
import { GroupCommit } from './group-commit.ts';
import { createWithEvents, type NewEnvelope } from './insert-sql.ts';
import type { EnvelopeRow } from './rows.ts';
import { StoreUnavailableError } from './store.ts';

export type CreateBatcher = GroupCommit<NewEnvelope, EnvelopeRow | undefined>;

/** Two batches at once: one committing while the next is sent, leaving the pool's other connections to the rest. */
const LIMITS = { maxInFlight: 2, maxItems: 256, maxBytes: 1024 * 1024 };

export function createBatcher(db: SqlExecutor, channel: string): CreateBatcher {
  const one = (e: NewEnvelope) => createWithEvents(db, channel, [e]).then(([row]) => row);
  return new GroupCommit(async (batch: NewEnvelope[]) => {
    // A repeated id within one batch would be skipped by ON CONFLICT and both callers told they created it.
    if (batch.length > 1 && new Set(batch.map((e) => e.id)).size === batch.length) {
      try {
        const created = await createWithEvents(db, channel, batch);
        return created.map((value) => ({ status: 'fulfilled', value }) as const);
      } catch (err) {
        if (err instanceof StoreUnavailableError) throw err;
      }
    }
    return Promise.allSettled(batch.map(one));
  }, LIMITS);
}
