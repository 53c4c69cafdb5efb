/**
 * Final reports, group-committed (group-commit.ts) with set-based statements. Every final NOTIFYs, so one
 * transaction per final queues each behind the previous one's WAL flush; and applying a batch's finals one
 * after another inside one transaction was slower still (tried: up to the pool's size had run in parallel
 * before). A batch instead locks its envelopes with one statement (in id order, so two batches never wait on
 * each other in a cycle), reads with a second which of them are fan-out parents (a statement of its own sees
 * children registered while it waited for a lock), and finishes the rest with one UPDATE and one INSERT of
 * their events (finish-sql.ts): five round trips for the batch, whatever its size.
 *
 * What a set cannot settle goes alone, in a transaction of its own, after the batch commits: a fan-out parent
 * (its own branch waits for its children) and a fan-out child (it may settle its parent, locking upward).
 * So does every final of a batch the server refuses, and of a batch that names one envelope twice. A lost
 * connection fails the whole batch instead: it may or may not have committed.
 */
import type { SqlDriver, SqlExecutor } from './driver.ts';
import { GroupCommit } from './group-commit.ts';
import { StoreUnavailableError, type FinalInput, type UpdateResult } from './store.ts';

export interface FinalWrite {
  id: string;
  input: FinalInput;
}

export type FinalBatcher = GroupCommit<FinalWrite, UpdateResult>;

/** What a batch answers for a final it leaves to a transaction of its own. */
export const ALONE = Symbol('alone');
export type BatchAnswer = UpdateResult | typeof ALONE;

/** As for progress: one batch committing while the next gathers; a megabyte of results at most in one. */
const LIMITS = { maxInFlight: 2, maxItems: 128, maxBytes: 1024 * 1024 };

export function finalsBatcher(
  db: SqlDriver,
  together: (tx: SqlExecutor, batch: FinalWrite[]) => Promise<BatchAnswer[]>,
  alone: (write: FinalWrite) => Promise<UpdateResult>,
): FinalBatcher {
  return new GroupCommit(async (batch: FinalWrite[]) => {
    // A batch of one too: its two statements and its parents' read sent together cost fewer round trips than
    // the transaction of its own (lock, children, update, event), which only what a set cannot settle needs.
    if (new Set(batch.map((w) => w.id)).size === batch.length) {
      let answers: BatchAnswer[] | undefined;
      try {
        answers = await db.transaction((tx) => together(tx, batch));
      } catch (err) {
        if (err instanceof StoreUnavailableError) throw err;
      }
      if (answers) return Promise.allSettled(answers.map((answer, i) => (answer === ALONE ? alone(batch[i]!) : answer)));
    }
    return Promise.allSettled(batch.map(alone));
  }, LIMITS);
}
