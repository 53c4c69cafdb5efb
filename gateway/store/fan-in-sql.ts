/**
 * Fan-in state (migration 010) inside the envelope store's transactions. The children's own rows are the
 * durable record of what arrived: an arrival finishes its child `succeeded` with the payload as its result,
 * so a redelivered child finds itself final and changes nothing. The fan_ins row holds what the combined
 * envelope needs and its outcome; the transaction that sees the last child sets the outcome and writes the
 * combined envelope to fan_in_outbox, both at most once per parent (the outcome is only set while null).
 */
import type { FanInArrival, FanInPolicy, FanInRoute } from '../../protocol/fan-in.ts';
import { isPlainObject, type JsonValue } from '../../protocol/json.ts';
import type { Envelope } from '../../protocol/envelope.ts';
import { rfc3339 } from '../core/envelope-json.ts';
import type { SqlExecutor } from './driver.ts';
import { decideFanIn, missingChildError, UNINDEXED, type FanInDecision } from './fan-in-decision.ts';
import { children, FINAL_LIST } from './fanout-sql.ts';
import * as rows from './rows.ts';
import type { EnvelopeRow } from './rows.ts';
import type { FanInMessage } from './store.ts';

export interface FanInRow {
  parentId: string;
  actor: string;
  policy: FanInPolicy;
  route: FanInRoute;
  queue: string;
  timeoutMs: number;
  expired: boolean;
  outcome: 'emitted' | 'failed' | null;
}

function toFanInRow(r: Record<string, unknown>): FanInRow {
  const route = (isPlainObject(r.route) ? r.route : {}) as FanInRoute;
  return {
    parentId: String(r.parent_id),
    actor: String(r.actor),
    policy: String(r.policy) as FanInPolicy,
    route,
    queue: String(r.queue),
    timeoutMs: Number(r.timeout_ms),
    expired: r.expired === true,
    outcome: r.outcome === 'emitted' || r.outcome === 'failed' ? r.outcome : null,
  };
}

const FAN_IN_COLUMNS = `parent_id, actor, policy, route, queue, timeout_ms, outcome, expires_at <= now() as expired`;

/** The parent's fan-in, locked, or undefined when no child has reached one yet. */
export async function lockFanIn(tx: SqlExecutor, parentId: string): Promise<FanInRow | undefined> {
  const found = await tx.query(`select ${FAN_IN_COLUMNS} from fan_ins where parent_id = $1 for update`, [parentId]);
  return found[0] ? toFanInRow(found[0]) : undefined;
}

/** The first arrival opens the fan-in with its policy, route and timeout; later ones find it open. */
export async function openFanIn(tx: SqlExecutor, arrival: FanInArrival): Promise<FanInRow> {
  await tx.query(
    `insert into fan_ins (parent_id, actor, policy, route, queue, timeout_ms, expires_at)
     values ($1, $2, $3, $4::text::jsonb, $5, $6, now() + ($6::bigint * interval '1 millisecond'))
     on conflict (parent_id) do nothing`,
    [arrival.parent_id, arrival.actor, arrival.policy, JSON.stringify(arrival.route), arrival.queue, arrival.timeout_ms],
  );
  const row = await lockFanIn(tx, arrival.parent_id);
  if (!row) throw new Error(`fan-in of ${arrival.parent_id} vanished inside its own transaction`);
  return row;
}

/**
 * True when the children's counts alone show the fan-in must go on waiting: some slot is still pending and,
 * under fail-fast, none has failed. Every arrival but the last ends here, so a fan-out of n children reads
 * n results once, at the end, instead of at every arrival (n² results read and parsed). When it says false,
 * decide() reads the children and rules; for every set of children the two agree on 'wait'.
 */
export async function surelyWaiting(tx: SqlExecutor, parent: EnvelopeRow, fanIn: FanInRow): Promise<boolean> {
  if (fanIn.expired) return false;
  const [counts] = await tx.query(
    `select count(*) filter (where status not in (${FINAL_LIST})) as pending,
            count(*) filter (where status in (${FINAL_LIST}) and status <> 'succeeded') as failed,
            count(distinct fanout_index) as known,
            coalesce(max(fanout_index) + 1, 0) as top
     from envelopes where parent_id = $1 and fanout_index is not null and fanout_index < $2`,
    [parent.id, UNINDEXED],
  );
  const size = Math.max(parent.fanoutSize ?? 0, Number(counts?.top ?? 0));
  if (size === 0) return true;
  if (fanIn.policy === 'fail-fast' && Number(counts?.failed ?? 0) > 0) return false;
  return Number(counts?.pending ?? 0) > 0 || Number(counts?.known ?? 0) < size;
}

/** What the parent's children say now, under the fan-in's policy. */
export async function decide(tx: SqlExecutor, parent: EnvelopeRow, fanIn: FanInRow): Promise<FanInDecision> {
  return decideFanIn({
    policy: fanIn.policy,
    parentId: parent.id,
    fanoutSize: parent.fanoutSize,
    children: await children(tx, parent.id),
    expired: fanIn.expired,
    missingError: missingChildError(fanIn.actor, fanIn.timeoutMs),
  });
}

/** The combined envelope: the parent's id, lineage, headers and deadline, on the route after the fan-in. */
export function combinedEnvelope(parent: EnvelopeRow, fanIn: FanInRow, payload: JsonValue): Envelope {
  return {
    id: parent.id,
    ...(parent.parentId ? { parent_id: parent.parentId } : {}),
    route: { actors: fanIn.route.actors, current: fanIn.route.current, ...(fanIn.route.metadata ? { metadata: fanIn.route.metadata } : {}) },
    ...(parent.headers ? { headers: parent.headers } : {}),
    payload,
    ...(parent.deadline ? { deadline: rfc3339(parent.deadline) } : {}),
  };
}

/** Sets the outcome (only while none is set) and, for `emitted`, writes the combined envelope to the outbox. */
export async function conclude(tx: SqlExecutor, fanIn: FanInRow, outcome: 'emitted' | 'failed', message?: { queue: string; body: string }): Promise<boolean> {
  const set = await tx.query(`update fan_ins set outcome = $2 where parent_id = $1 and outcome is null returning parent_id`, [fanIn.parentId, outcome]);
  if (set.length === 0) return false;
  if (message) {
    await tx.query(
      `insert into fan_in_outbox (parent_id, queue, body, claimed_until) values ($1, $2, $3, now()) on conflict (parent_id) do nothing`,
      [fanIn.parentId, message.queue, message.body],
    );
  }
  return true;
}

/** Waiting fan-ins whose timeout has passed (the sweeper fails their missing children). */
export async function expiredFanIns(db: SqlExecutor, limit: number): Promise<{ parentId: string; actor: string; timeoutMs: number }[]> {
  rows.checkIndex(limit, 'limit');
  const found = await db.query(
    `select parent_id, actor, timeout_ms from fan_ins where outcome is null and expires_at <= now() order by expires_at, parent_id limit $1`,
    [limit],
  );
  return found.map((r) => ({ parentId: String(r.parent_id), actor: String(r.actor), timeoutMs: Number(r.timeout_ms) }));
}

export async function unfinishedChildren(db: SqlExecutor, parentId: string): Promise<string[]> {
  const found = await db.query(`select id from envelopes where parent_id = $1 and status in ('pending', 'running') order by fanout_index, id`, [parentId]);
  return found.map((r) => String(r.id));
}


/** Leases due combined envelopes to one publisher (SKIP LOCKED), as the envelope outbox does. */
export async function claimFanInOutbox(db: SqlExecutor, leaseMs: number, limit: number): Promise<FanInMessage[]> {
  rows.checkIndex(leaseMs, 'leaseMs');
  rows.checkIndex(limit, 'limit');
  const claimed = await db.query(
    `with due as (
       select parent_id from fan_in_outbox where claimed_until <= now()
       order by claimed_until, parent_id limit $2 for update skip locked)
     update fan_in_outbox o set claimed_until = now() + ($1::bigint * interval '1 millisecond'), attempts = o.attempts + 1
     from due where o.parent_id = due.parent_id
     returning o.parent_id, o.queue, o.body`,
    [leaseMs, limit],
  );
  return claimed.map((r) => ({ parentId: String(r.parent_id), queue: String(r.queue), body: Buffer.from(String(r.body)) }));
}

export async function deleteFanInMessage(db: SqlExecutor, parentId: string): Promise<void> {
  await db.query(`delete from fan_in_outbox where parent_id = $1`, [parentId]);
}
