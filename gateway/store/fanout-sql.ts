/** Fan-out queries shared by registration and settling: a parent's branches, its size, its lineage. */
import type { SqlExecutor } from './driver.ts';
import { UNINDEXED } from './fan-in-decision.ts';
import { fromResult, TEXT_ARRAY } from './rows.ts';
import type { FanOutChild, FanOutCounts } from './state-machine.ts';
import { FINAL_STATUSES } from '../../protocol/gateway-contract.ts';
import type { EnvelopeStatus } from './store.ts';

export async function children(tx: SqlExecutor, parentId: string): Promise<FanOutChild[]> {
  const found = await tx.query(
    `select id, status, result, error, fanout_index from envelopes where parent_id = $1
     order by fanout_index nulls last, created_at, id`,
    [parentId],
  );
  return found.map((r, i) => ({
    id: String(r.id),
    status: String(r.status) as EnvelopeStatus,
    result: fromResult(r.result),
    error: r.error === null || r.error === undefined || r.error === '' ? null : String(r.error),
    index: r.fanout_index === null || r.fanout_index === undefined ? UNINDEXED + i : Number(r.fanout_index),
  }));
}

/** The final statuses as an SQL list, for counts in a statement (a constant, never user input). */
export const FINAL_LIST = FINAL_STATUSES.map((status) => `'${status}'`).join(', ');

export async function childCounts(tx: SqlExecutor, parentId: string): Promise<FanOutCounts> {
  const [counts] = await tx.query(
    `select count(*) as children, count(*) filter (where status not in (${FINAL_LIST})) as pending,
            coalesce(bool_or(fanout_index = 0), false) as has_index_zero
     from envelopes where parent_id = $1`,
    [parentId],
  );
  return { children: Number(counts?.children ?? 0), pending: Number(counts?.pending ?? 0), hasIndexZero: counts?.has_index_zero === true };
}

/** The announced size only grows: a retried registration from an older report must not shrink it. */
export async function growFanout(tx: SqlExecutor, parentId: string, fanoutSize: number | undefined): Promise<void> {
  if (fanoutSize === undefined) return;
  await tx.query(`update envelopes set fanout_size = greatest(coalesce(fanout_size, 0), $2) where id = $1`, [parentId, fanoutSize]);
}

/** Linking an envelope under its own descendant would make settling walk a cycle forever. */
export async function isAncestor(tx: SqlExecutor, ancestorId: string, id: string): Promise<boolean> {
  const found = await tx.query(
    `with recursive up as (
       select id, parent_id from envelopes where id = $1
       union select e.id, e.parent_id from envelopes e join up on e.id = up.parent_id)
     select 1 from up where id = $2 limit 1`,
    [id, ancestorId],
  );
  return found.length > 0;
}

/** Which of these envelopes have fan-out children. */
export async function parentsAmong(tx: SqlExecutor, ids: readonly string[]): Promise<Set<string>> {
  const found = await tx.query(`select distinct parent_id from envelopes where parent_id = any(${TEXT_ARRAY(1)})`, [JSON.stringify(ids)]);
  return new Set(found.map((r) => String(r.parent_id)));
}
