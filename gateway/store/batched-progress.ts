/**
 * Progress reports, group-committed (group-commit.ts). Each report locks its envelope, writes the row and one
 * event and NOTIFYs; PostgreSQL serialises NOTIFYing commits, so one transaction per report made the progress
 * of every hop of every envelope queue for its own WAL flush. A batch pays one flush for all its reports.
 *
 * Within a batch the envelopes are locked in id order (equal ids keep their arrival order), so two batches
 * never wait on each other in a cycle. A batch the server refuses (a deadlock with a final settling its
 * parent, say) is applied report by report, each in its own transaction, so one report never fails another.
 * A lost connection fails the whole batch instead: it may or may not have committed.
 */
import type { SqlDriver, SqlExecutor } from './driver.ts';
import { GroupCommit } from './group-commit.ts';
import { StoreUnavailableError, type ProgressInput, type UpdateResult } from './store.ts';

export interface ProgressWrite {
  id: string;
  input: ProgressInput;
}

export type ProgressBatcher = GroupCommit<ProgressWrite, UpdateResult>;

/** As for creates: one batch committing while the next gathers, the pool's other connections left to the rest. */
const LIMITS = { maxInFlight: 2, maxItems: 128, maxBytes: Number.MAX_SAFE_INTEGER };

export function progressBatcher(db: SqlDriver, apply: (tx: SqlExecutor, write: ProgressWrite) => Promise<UpdateResult>): ProgressBatcher {
  const one = (write: ProgressWrite) => db.transaction((tx) => apply(tx, write));
  return new GroupCommit(async (batch: ProgressWrite[]) => {
    if (batch.length > 1) {
      try {
        const results = await db.transaction(async (tx) => {
          const settled = new Array<UpdateResult>(batch.length);
          for (const i of lockOrder(batch)) settled[i] = await apply(tx, batch[i]!);
          return settled;
        });
        return results.map((value) => ({ status: 'fulfilled', value }) as const);
      } catch (err) {
        if (err instanceof StoreUnavailableError) throw err;
      }
    }
    return Promise.allSettled(batch.map(one));
  }, LIMITS);
}

/** The batch's indexes sorted by envelope id; a stable sort, so one envelope's reports apply in arrival order. */
function lockOrder(batch: ProgressWrite[]): number[] {
  return batch.map((_, i) => i).sort((a, b) => (batch[a]!.id < batch[b]!.id ? -1 : batch[a]!.id > batch[b]!.id ? 1 : a - b));
}
