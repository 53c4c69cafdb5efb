/**
 * Progress reports, group-committed (group-commit.ts). Each report writes its envelope's row and one event,
 * which NOTIFYs; PostgreSQL serialises NOTIFYing commits, so one transaction per report made the progress of
 * every hop of every envelope queue for its own WAL flush. A batch pays one flush for all its reports.
 *
 * A batch is read and written with two autocommitted statements (progress-sql.ts); the reports about an
 * envelope that changed in between are decided again, a few times, and then, like every report of a batch
 * the server refuses (a deadlock with a final settling its parent, say), applied one by one in a transaction
 * that locks the envelope first, so one report never fails another. A lost connection fails the whole batch
 * instead, as does a write whose answer could not be read: it may have committed, and applying it again
 * would store every report twice.
 */
import type { SqlDriver, SqlExecutor } from './driver.ts';
import { GroupCommit } from './group-commit.ts';
import { applyProgressReports, MOVED, ProgressWrittenError, type ProgressWrite } from './progress-sql.ts';
import { StoreUnavailableError, type UpdateResult } from './store.ts';

export type ProgressBatcher = GroupCommit<ProgressWrite, UpdateResult>;

/** As for creates: one batch committing while the next gathers, the pool's other connections left to the rest. */
const LIMITS = { maxInFlight: 2, maxItems: 128, maxBytes: Number.MAX_SAFE_INTEGER };

/** Reads and writes before a report about an envelope that keeps changing is applied under its lock. */
const OPTIMISTIC_TRIES = 3;

export function progressBatcher(
  db: SqlDriver,
  channel: string,
  applyLocked: (tx: SqlExecutor, write: ProgressWrite) => Promise<UpdateResult>,
  wrote: (results: UpdateResult[]) => void,
): ProgressBatcher {
  const one = (write: ProgressWrite) => db.transaction((tx) => applyLocked(tx, write));
  return new GroupCommit(async (batch: ProgressWrite[]) => {
    const settled = new Array<PromiseSettledResult<UpdateResult>>(batch.length);
    let pending = batch.map((_, i) => i);
    for (let attempt = 0; attempt < OPTIMISTIC_TRIES && pending.length > 0; attempt++) {
      let answers: Array<UpdateResult | typeof MOVED>;
      try {
        answers = await applyProgressReports(db, channel, pending.map((i) => batch[i]!));
      } catch (err) {
        // Refused by the server (a deadlock, say): nothing was written, so the reports left go one by one.
        if (err instanceof StoreUnavailableError || err instanceof ProgressWrittenError) throw err;
        break;
      }
      wrote(answers.filter((a): a is UpdateResult => a !== MOVED));
      const again: number[] = [];
      answers.forEach((answer, k) => {
        if (answer === MOVED) again.push(pending[k]!);
        else settled[pending[k]!] = { status: 'fulfilled', value: answer };
      });
      pending = again;
    }
    const rest = await Promise.allSettled(pending.map((i) => one(batch[i]!)));
    pending.forEach((i, k) => (settled[i] = rest[k]!));
    return settled;
  }, LIMITS);
}
