/**
 * The pauses' reads and writes (migration 009). The envelope's status and events change in sql-store.ts,
 * in the same transaction as these; here is only the pause row: what the envelope waits for, and, once
 * resumed, the message to publish with its lease (the same at-least-once scheme as the outbox).
 */
import { isPlainObject, type JsonObject } from '../../protocol/json.ts';
import type { Row, SqlExecutor } from './driver.ts';
import * as rows from './rows.ts';
import type { PauseInput, PauseRecord, ResumedMessage } from './store.ts';

const PAUSE_COLUMNS = `envelope_id, actor, prompt, answer_schema, timeout_sec, has_default, default_input, input_key, queue, message,
  paused_at, expires_at, resumed_at`;

function toPause(r: Row): PauseRecord {
  const timeout = r.timeout_sec === null || r.timeout_sec === undefined ? null : Number(r.timeout_sec);
  return {
    envelopeId: String(r.envelope_id),
    actor: String(r.actor),
    prompt: String(r.prompt),
    schema: isPlainObject(r.answer_schema) ? (r.answer_schema as JsonObject) : null,
    timeoutSeconds: timeout,
    default: r.has_default === true ? { value: rows.fromResult(r.default_input) } : null,
    inputKey: String(r.input_key),
    queue: String(r.queue),
    message: (isPlainObject(r.message) ? r.message : {}) as JsonObject,
    pausedAt: rows.toDate(r.paused_at) ?? new Date(0),
    expiresAt: rows.toDate(r.expires_at),
    resumedAt: rows.toDate(r.resumed_at),
  };
}

/** A later pause of the same envelope (a second step that asks) replaces the earlier, resumed one. */
export async function upsertPause(tx: SqlExecutor, id: string, input: PauseInput): Promise<void> {
  await tx.query(
    `insert into envelope_pauses (envelope_id, actor, prompt, answer_schema, timeout_sec, has_default, default_input, input_key, queue,
       message, paused_at, expires_at, resumed_at, resume_message, publish_until)
     values ($1, $2, $3, $4::text::jsonb, $5::double precision, $6, $7::text::jsonb, $8, $9, $10::text::jsonb, now(),
       case when $5::double precision is null then null else now() + make_interval(secs => $5::double precision) end, null, null, null)
     on conflict (envelope_id) do update set actor = excluded.actor, prompt = excluded.prompt, answer_schema = excluded.answer_schema,
       timeout_sec = excluded.timeout_sec, has_default = excluded.has_default, default_input = excluded.default_input,
       input_key = excluded.input_key, queue = excluded.queue, message = excluded.message, paused_at = excluded.paused_at,
       expires_at = excluded.expires_at, resumed_at = null, resume_message = null, publish_until = null`,
    [id, input.actor, input.prompt, rows.jsonParam(input.schema), input.timeoutSeconds ?? null, input.default !== undefined,
      rows.resultParam(input.default?.value), input.inputKey, input.queue, JSON.stringify(input.message)],
  );
}

export async function getPause(db: SqlExecutor, id: string, options: { lock?: boolean } = {}): Promise<PauseRecord | undefined> {
  const found = await db.query(`select ${PAUSE_COLUMNS} from envelope_pauses where envelope_id = $1${options.lock ? ' for update' : ''}`, [id]);
  return found[0] ? toPause(found[0]) : undefined;
}

/** Records the resume and leases its publish to the caller. */
export async function writeResume(tx: SqlExecutor, id: string, message: JsonObject, leaseMs: number): Promise<void> {
  await tx.query(
    `update envelope_pauses set resumed_at = now(), resume_message = $2::text::jsonb,
       publish_until = now() + ($3::bigint * interval '1 millisecond') where envelope_id = $1`,
    [id, JSON.stringify(message), leaseMs],
  );
}

/**
 * The next paused envelope whose pause has expired, its pause and envelope rows locked (SKIP LOCKED: another
 * replica takes the next one). Undefined when none is due.
 */
export async function lockExpired(tx: SqlExecutor, now: Date): Promise<PauseRecord | undefined> {
  const found = await tx.query(
    `select ${PAUSE_COLUMNS.split(',').map((c) => `p.${c.trim()}`).join(', ')} from envelope_pauses p join envelopes e on e.id = p.envelope_id
     where e.status = 'paused' and p.resumed_at is null and p.expires_at <= $1::timestamptz
     order by p.expires_at, p.envelope_id limit 1 for update of p, e skip locked`,
    [now.toISOString()],
  );
  return found[0] ? toPause(found[0]) : undefined;
}

/**
 * Leases the resumed messages whose lease ran out; those whose envelope is final meanwhile (cancelled after
 * the resume) are not published any more.
 */
export async function claimResumes(db: SqlExecutor, leaseMs: number, limit: number): Promise<ResumedMessage[]> {
  rows.checkIndex(leaseMs, 'leaseMs');
  rows.checkIndex(limit, 'limit');
  const claimed = await db.query(
    `with due as (
       select p.envelope_id, e.status in ('succeeded', 'failed') as settled from envelope_pauses p join envelopes e on e.id = p.envelope_id
       where p.publish_until <= now() order by p.publish_until, p.envelope_id limit $2 for update of p skip locked)
     update envelope_pauses p set publish_until = case when due.settled then null else now() + ($1::bigint * interval '1 millisecond') end
     from due where p.envelope_id = due.envelope_id
     returning p.envelope_id, p.queue, p.resume_message, due.settled`,
    [leaseMs, limit],
  );
  return claimed
    .filter((r) => r.settled !== true && isPlainObject(r.resume_message))
    .map((r) => ({ envelopeId: String(r.envelope_id), queue: String(r.queue), message: r.resume_message as JsonObject }));
}

export async function markResumePublished(db: SqlExecutor, id: string): Promise<void> {
  await db.query(`update envelope_pauses set publish_until = null where envelope_id = $1`, [id]);
}

