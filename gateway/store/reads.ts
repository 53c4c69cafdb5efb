/** The store's queries that change no envelope state: lookups, listing, event reads and retention. */
import { ENVELOPE_STATUSES } from '../../protocol/gateway-contract.ts';
import type { SqlExecutor, SqlParam } from './driver.ts';
import * as rows from './rows.ts';
import { ENVELOPE_COLUMNS, EVENT_COLUMNS } from './rows.ts';
import {
  InvalidEnvelopeInputError,
  type EnvelopeEvent,
  type EnvelopeHead,
  type EnvelopePage,
  type EnvelopeRecord,
  type EnvelopeStatus,
  type EnvelopeSummary,
  type ListFilter,
} from './store.ts';

const STATUSES = new Set<string>(ENVELOPE_STATUSES);

export async function getEnvelope(db: SqlExecutor, id: string): Promise<EnvelopeRecord | undefined> {
  const found = await db.query(`select ${ENVELOPE_COLUMNS} from envelopes where id = $1`, [id]);
  return found[0] ? rows.toRecord(rows.toEnvelopeRow(found[0])) : undefined;
}

export async function summaries(db: SqlExecutor, ids: readonly string[]): Promise<EnvelopeSummary[]> {
  if (ids.length === 0) return [];
  const found = await db.query(
    `select id, owner, tool_name, parent_id, created_at from envelopes where id = any(${rows.TEXT_ARRAY(1)})`,
    [JSON.stringify(ids)],
  );
  return found.map((r) => ({
    id: String(r.id),
    owner: r.owner === null || r.owner === undefined ? null : String(r.owner),
    toolName: r.tool_name === null || r.tool_name === undefined ? null : String(r.tool_name),
    parentId: r.parent_id === null || r.parent_id === undefined || r.parent_id === '' ? null : String(r.parent_id),
    createdAt: rows.toDate(r.created_at) ?? new Date(0),
  }));
}

/** The envelope holding an owner's idempotency key (the expression is the unique index's, so it is used). */
export async function byIdempotencyKey(
  db: SqlExecutor,
  owner: string | undefined,
  key: string,
): Promise<{ envelope: EnvelopeRecord; requestHash: string } | undefined> {
  const found = await db.query(
    `select ${ENVELOPE_COLUMNS}, idempotency_hash from envelopes
     where coalesce(owner, '') = $1 and idempotency_key = $2 and idempotency_key is not null`,
    [owner ?? '', key],
  );
  const row = found[0];
  return row ? { envelope: rows.toRecord(rows.toEnvelopeRow(row)), requestHash: String(row.idempotency_hash) } : undefined;
}

/** Keyset paging on (created_at, id), newest first; the cursor keeps created_at to the microsecond. */
export async function listEnvelopes(db: SqlExecutor, filter: ListFilter): Promise<EnvelopePage> {
  const where: string[] = [];
  const params: SqlParam[] = [];
  const param = (value: SqlParam) => `$${params.push(value)}`;
  const statuses = filter.status === undefined ? [] : [filter.status].flat();
  if (statuses.some((s) => !STATUSES.has(s))) throw new InvalidEnvelopeInputError(`unknown status in ${statuses.join(',')}`);
  if (statuses.length > 0) where.push(`status in (${statuses.map(param).join(', ')})`);
  if (filter.toolName !== undefined) where.push(`tool_name = ${param(filter.toolName)}`);
  if (filter.owner !== undefined) where.push(`owner = ${param(filter.owner)}`);
  if (filter.parentId !== undefined) where.push(`parent_id = ${param(filter.parentId)}`);
  // LIKE with its wildcards escaped, so an id holding % or _ matches itself; an index on id text_pattern_ops
  // (migration 011) serves the prefix.
  if (filter.idPrefix) where.push(`id like ${param(`${filter.idPrefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`)}`);
  if (filter.rootsOnly) where.push(`(parent_id is null or parent_id = '')`);
  rows.checkDate(filter.createdFrom, 'createdFrom');
  rows.checkDate(filter.createdTo, 'createdTo');
  if (filter.createdFrom) where.push(`created_at >= ${param(rows.dateParam(filter.createdFrom))}::timestamptz`);
  if (filter.createdTo) where.push(`created_at < ${param(rows.dateParam(filter.createdTo))}::timestamptz`);
  if (filter.cursor !== undefined) {
    const [at, id] = rows.decodeCursor(filter.cursor);
    // As text: a parameter the server types as timestamptz goes through a JS Date in postgres.js, which
    // keeps milliseconds only, and rows created within that millisecond after the cursor were skipped.
    where.push(`(created_at, id) < (${param(at)}::text::timestamptz, ${param(id)})`);
  }
  const limit = Math.min(Math.max(Math.trunc(filter.limit ?? 50), 1), 500);
  const found = await db.query(
    `select ${ENVELOPE_COLUMNS} from envelopes ${where.length ? `where ${where.join(' and ')}` : ''}
     order by created_at desc, id desc limit ${param(limit + 1)}`,
    params,
  );
  const page = found.slice(0, limit).map(rows.toEnvelopeRow);
  const last = page[page.length - 1];
  return {
    items: page.map(rows.toRecord),
    ...(found.length > limit && last ? { nextCursor: rows.encodeCursor(last) } : {}),
  };
}

export async function eventsSince(
  db: SqlExecutor,
  envelopeId: string | undefined,
  afterSeq: number,
  limit: number,
): Promise<EnvelopeEvent[]> {
  if (!Number.isSafeInteger(afterSeq) || afterSeq < 0) throw new InvalidEnvelopeInputError('afterSeq must be a non-negative integer');
  const max = Math.min(Math.max(Math.trunc(limit), 1), 10_000);
  const found =
    envelopeId === undefined
      ? await db.query(`select ${EVENT_COLUMNS} from envelope_updates where id > $1 order by id limit $2`, [afterSeq, max])
      : await db.query(
          `select ${EVENT_COLUMNS} from envelope_updates where envelope_id = $1 and id > $2 order by id limit $3`,
          [envelopeId, afterSeq, max],
        );
  return found.map(rows.toEvent);
}

/**
 * An envelope's status and owner with its events after `afterSeq`, in one statement: what a stream needs to
 * decide whether to serve it and where it starts. Undefined when there is no such envelope.
 */
export async function headWithEventsSince(
  db: SqlExecutor,
  envelopeId: string,
  afterSeq: number,
  limit: number,
): Promise<{ head: EnvelopeHead; events: EnvelopeEvent[] } | undefined> {
  if (!Number.isSafeInteger(afterSeq) || afterSeq < 0) throw new InvalidEnvelopeInputError('afterSeq must be a non-negative integer');
  const max = Math.min(Math.max(Math.trunc(limit), 1), 10_000);
  // The envelope's own columns are renamed so that u.* (the event's) keeps the names toEvent reads.
  const found = await db.query(
    `select e.status as head_status, e.owner as head_owner, u.*
     from envelopes e
     left join lateral (select ${EVENT_COLUMNS} from envelope_updates where envelope_id = e.id and id > $2 order by id limit $3) u on true
     where e.id = $1
     order by u.id`,
    [envelopeId, afterSeq, max],
  );
  const first = found[0];
  if (!first) return undefined;
  return {
    head: { status: String(first.head_status) as EnvelopeStatus, owner: rows.toText(first.head_owner) },
    events: found.filter((r) => r.id !== null && r.id !== undefined).map(rows.toEvent),
  };
}

export async function eventsBySeq(db: SqlExecutor, seqs: number[]): Promise<EnvelopeEvent[]> {
  const found = await db.query(
    `select ${EVENT_COLUMNS} from envelope_updates where id = any(${rows.BIGINT_ARRAY(1)})`,
    [JSON.stringify(seqs)],
  );
  return found.map(rows.toEvent);
}

export async function maxSeq(db: SqlExecutor, envelopeId: string | undefined): Promise<number> {
  const found =
    envelopeId === undefined
      ? await db.query(`select coalesce(max(id), 0) as seq from envelope_updates`)
      : await db.query(`select coalesce(max(id), 0) as seq from envelope_updates where envelope_id = $1`, [envelopeId]);
  return Number(found[0]?.seq ?? 0);
}

/** In batches, skipping rows another replica is deleting, so retention never holds long locks. */
export async function deleteFinalOlderThan(db: SqlExecutor, cutoff: Date): Promise<number> {
  rows.checkDate(cutoff, 'cutoff');
  const batch = 1000;
  let total = 0;
  for (;;) {
    const deleted = await db.query(
      `with doomed as (
         select id from envelopes where status in ('succeeded', 'failed') and updated_at < $1::timestamptz
         order by updated_at limit $2 for update skip locked)
       delete from envelopes e using doomed where e.id = doomed.id returning e.id`,
      [cutoff.toISOString(), batch],
    );
    total += deleted.length;
    if (deleted.length < batch) return total;
  }
}
