/**
 * The outbox's reads and writes (migration 006). Entries are written with their envelope (insert-sql.ts);
 * here they are leased to a relay pass and deleted once published. The database's clock decides leases,
 * so replicas whose clocks disagree still hand each entry to one publisher at a time.
 */
import type { SqlExecutor } from './driver.ts';
import { GroupCommit } from './group-commit.ts';
import * as rows from './rows.ts';
import { ENVELOPE_COLUMNS, NO_DEADLINE_BEFORE, TEXT_ARRAY } from './rows.ts';
import type { EnvelopeRecord } from './store.ts';

/**
 * One statement: lock the due entries (SKIP LOCKED: another replica's pass takes the next ones), delete
 * those whose envelope an actor already has or that are final, re-lease the rest, and answer the pending
 * envelopes still within their deadline (the overdue ones are failOverdue's; their entries go once final).
 */
export async function claimDue(db: SqlExecutor, leaseMs: number, limit: number): Promise<EnvelopeRecord[]> {
  rows.checkIndex(leaseMs, 'leaseMs');
  rows.checkIndex(limit, 'limit');
  const claimed = await db.query(
    `with due as (
       select o.envelope_id, e.status,
         coalesce(e.deadline >= ${NO_DEADLINE_BEFORE} and e.deadline <= now(), false) as overdue
       from envelope_outbox o join envelopes e on e.id = o.envelope_id
       where o.claimed_until <= now()
       order by o.claimed_until, o.envelope_id limit $2
       for update of o skip locked),
     settled as (
       delete from envelope_outbox o using due where o.envelope_id = due.envelope_id and due.status <> 'pending'),
     leased as (
       update envelope_outbox o set claimed_until = now() + ($1::bigint * interval '1 millisecond'), attempts = o.attempts + 1
       from due where o.envelope_id = due.envelope_id and due.status = 'pending'
       returning o.envelope_id, due.overdue)
     select ${ENVELOPE_COLUMNS} from envelopes e join leased on leased.envelope_id = e.id
     where not leased.overdue order by e.created_at, e.id`,
    [leaseMs, limit],
  );
  return claimed.map((r) => rows.toRecord(rows.toEnvelopeRow(r)));
}

/**
 * How long a published envelope's outbox entry waits for others to be deleted with it. Nobody waits on the
 * delete, and a lost one costs one more publish (after the entry's lease, DEFAULT_OUTBOX_LEASE_MS); at a
 * thousand calls a second one statement deletes about fifty entries instead of two or three.
 */
const PUBLISHED_LINGER_MS = 50;

/** Deletes for published envelopes, group-committed: the fast path adds one per tool call. */
export function publishedBatcher(db: SqlExecutor): GroupCommit<string, void> {
  return new GroupCommit(async (ids: string[]) => {
    await db.query(`delete from envelope_outbox where envelope_id = any(${TEXT_ARRAY(1)})`, [
      JSON.stringify(ids),
    ]);
    return ids.map(() => ({ status: 'fulfilled', value: undefined }) as const);
  }, { maxInFlight: 1, maxItems: 1000, maxBytes: Number.MAX_SAFE_INTEGER, lingerMs: PUBLISHED_LINGER_MS });
}
