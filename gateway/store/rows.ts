/**
 * Row shapes, parameter encoding and input checks shared by every query. postgres.js and PGlite decode
 * bigint, numeric and arrays differently, so every value is normalised here rather than trusted.
 */
import { MAX_ENVELOPE_ID_LENGTH as MAX_ID_LENGTH } from '../../protocol/envelope.ts';
import { isPlainObject, type JsonObject, type JsonValue } from '../../protocol/json.ts';
import type { Row, SqlParam } from './driver.ts';
import {
  InvalidEnvelopeInputError,
  type EventState,
  type EnvelopeEvent,
  type EnvelopeRecord,
  type EnvelopeStatus,
} from './store.ts';
import { errorText } from '../../protocol/errors.ts';

/** The original wrote Go's zero time (year 1) for "no deadline"; anything before this means none. */
export const NO_DEADLINE_BEFORE = `'0002-01-01T00:00:00Z'::timestamptz`;

/** Every column but the payload, for a write whose caller holds the payload already (it can be megabytes). */
export const ENVELOPE_COLUMNS_BUT_PAYLOAD = `id, parent_id, status, tool_name, owner, idempotency_key, route_actors, route_current, route_metadata,
  headers, result, error, timeout_sec,
  case when deadline < ${NO_DEADLINE_BEFORE} then null else deadline end as deadline, progress_percent, current_actor_idx,
  current_actor_name, message, total_actors, fanout_index, fanout_size, branch_status, branch_result,
  branch_error, cancelled_at, version, created_at, updated_at,
  to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as created_cursor`;

export const ENVELOPE_COLUMNS = `${ENVELOPE_COLUMNS_BUT_PAYLOAD}, payload`;

export const EVENT_COLUMNS = `id, envelope_id, status, message, result, error, progress_percent, actor, actors,
  current_actor_idx, envelope_state, late, timestamp`;

/**
 * JSON and text arrays travel as JSON text cast in SQL (`$n::text::jsonb`): postgres.js JSON-encodes any
 * parameter the server types as jsonb, so a bare `$n::jsonb` would store our text as a JSON string. Match a
 * column against one with `= any(...)`, never `in (select ...)`: the latter is planned as a join that can scan
 * the whole table (finish-sql.ts says when).
 */
export const TEXT_ARRAY = (n: number) => `array(select jsonb_array_elements_text($${n}::text::jsonb))`;
/** The same for event seqs (`envelope_updates.id`). */
export const BIGINT_ARRAY = (n: number) => `array(select jsonb_array_elements_text($${n}::text::jsonb)::bigint)`;

/** The stored row plus what only the store itself needs (fan-out bookkeeping, paging). */
export interface EnvelopeRow extends EnvelopeRecord {
  fanoutSize: number | null;
  branchStatus: 'succeeded' | 'failed' | null;
  branchResult: JsonValue;
  branchError: string | null;
  createdCursor: string;
}

export function toEnvelopeRow(r: Row): EnvelopeRow {
  const actors = toStringArray(r.route_actors) ?? [];
  return {
    id: String(r.id),
    parentId: toText(r.parent_id),
    status: String(r.status) as EnvelopeStatus,
    toolName: toText(r.tool_name),
    owner: toText(r.owner),
    idempotencyKey: toText(r.idempotency_key),
    routeActors: actors,
    routeCurrent: toInt(r.route_current) ?? 0,
    routeMetadata: isPlainObject(r.route_metadata) ? (r.route_metadata as JsonObject) : null,
    headers: isPlainObject(r.headers) ? (r.headers as JsonObject) : null,
    payload: (r.payload ?? null) as JsonValue,
    result: fromResult(r.result),
    error: toText(r.error),
    timeoutSeconds: toInt(r.timeout_sec),
    deadline: toDate(r.deadline),
    progressPercent: toNumber(r.progress_percent) ?? 0,
    currentActorIdx: toInt(r.current_actor_idx) ?? 0,
    currentActorName: toText(r.current_actor_name),
    message: toText(r.message),
    totalActors: toInt(r.total_actors) ?? actors.length,
    fanoutIndex: toInt(r.fanout_index),
    cancelled: r.cancelled_at !== null && r.cancelled_at !== undefined,
    version: toInt(r.version) ?? 1,
    createdAt: toDate(r.created_at) ?? new Date(0),
    updatedAt: toDate(r.updated_at) ?? new Date(0),
    fanoutSize: toInt(r.fanout_size),
    branchStatus: (toText(r.branch_status) as 'succeeded' | 'failed' | null) ?? null,
    branchResult: fromResult(r.branch_result),
    branchError: toText(r.branch_error),
    createdCursor: String(r.created_cursor),
  };
}

export function toRecord(row: EnvelopeRow): EnvelopeRecord {
  const { fanoutSize: _size, branchStatus: _status, branchResult: _result, branchError: _error, createdCursor: _cursor, ...record } =
    row;
  return record;
}

export function toEvent(r: Row): EnvelopeEvent {
  return {
    seq: toInt(r.id) ?? 0,
    envelopeId: String(r.envelope_id),
    status: String(r.status) as EnvelopeStatus,
    message: toText(r.message),
    result: fromResult(r.result),
    error: toText(r.error),
    progressPercent: toNumber(r.progress_percent),
    actor: toText(r.actor),
    actors: toStringArray(r.actors),
    currentActorIdx: toInt(r.current_actor_idx),
    envelopeState: toText(r.envelope_state) as EventState | null,
    late: r.late === true,
    timestamp: toDate(r.timestamp) ?? new Date(0),
  };
}

/** The original wrote '' for "no error"; we read that as none. */
export function toText(v: unknown): string | null {
  return v === null || v === undefined || v === '' ? null : String(v);
}

function toNumber(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

function toInt(v: unknown): number | null {
  const n = toNumber(v);
  return n === null ? null : Math.trunc(n);
}

export function toDate(v: unknown): Date | null {
  if (v === null || v === undefined) return null;
  const d = v instanceof Date ? v : new Date(String(v));
  return Number.isNaN(d.getTime()) ? null : d;
}

function toStringArray(v: unknown): string[] | null {
  return Array.isArray(v) ? v.map(String) : null;
}

/** SQL NULL for "absent"; JSON text (cast to jsonb in the query) otherwise, so a JSON null stays JSON. */
export function jsonParam(value: JsonValue | undefined): SqlParam {
  return value === undefined ? null : JSON.stringify(value);
}

/**
 * A result as the jsonb it is stored as. jsonb can hold neither NUL nor a lone surrogate, both valid in
 * JSON (a handler may return any string): such a result is stored as its JSON text, wrapped in an object
 * with one reserved key, and unwrapped on read, so it comes back exactly as sent. A result that happens to
 * be such a wrapper itself is wrapped too, which keeps the scheme unambiguous.
 */
export function resultParam(value: JsonValue | undefined): SqlParam {
  if (value === undefined) return null;
  const text = JSON.stringify(value);
  return UNSTORABLE_IN_JSONB.test(text) || isWrapped(value) ? JSON.stringify({ [WRAPPED_RESULT_KEY]: text }) : text;
}

export function fromResult(stored: unknown): JsonValue {
  if (isWrapped(stored as JsonValue)) return JSON.parse((stored as Record<string, string>)[WRAPPED_RESULT_KEY]!) as JsonValue;
  return (stored ?? null) as JsonValue;
}

const WRAPPED_RESULT_KEY = '\uF8FFasya-escaped-json';
// \u0000 or a \udXXX surrogate escape (JSON.stringify writes a lone surrogate so, and a valid pair as
// itself) behind an even run of backslashes; a false match only costs the wrapping.
const UNSTORABLE_IN_JSONB = /(^|[^\\])(\\\\)*\\u(0000|d[89a-f][0-9a-f]{2})/;

function isWrapped(value: JsonValue): boolean {
  if (!isPlainObject(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === WRAPPED_RESULT_KEY && typeof value[WRAPPED_RESULT_KEY] === 'string';
}

export function dateParam(value: Date | undefined | null): SqlParam {
  return value ? value.toISOString() : null;
}

export function encodeCursor(row: EnvelopeRow): string {
  return Buffer.from(JSON.stringify([row.createdCursor, row.id])).toString('base64url');
}

export function decodeCursor(cursor: string): [string, string] {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.length === 2 && parsed.every((p) => typeof p === 'string')) {
      const [at, id] = parsed as [string, string];
      if (!Number.isNaN(Date.parse(at))) return [at, id];
    }
  } catch {
    // fall through to the error below
  }
  throw new InvalidEnvelopeInputError('invalid list cursor');
}

// PostgreSQL text cannot hold NUL; a clear error beats the driver's "invalid byte sequence".
const NUL = '\u0000';
const JSON_NUL = /(^|[^\\])(\\\\)*\\u0000/;

export function checkId(id: unknown, what = 'id'): string {
  if (typeof id !== 'string' || id.length === 0) throw new InvalidEnvelopeInputError(`${what} must be a non-empty string`);
  if (id.length > MAX_ID_LENGTH) throw new InvalidEnvelopeInputError(`${what} is longer than ${MAX_ID_LENGTH} characters`);
  if (id.includes(NUL)) throw new InvalidEnvelopeInputError(`${what} must not contain NUL characters`);
  return id;
}

export function checkActors(actors: unknown): string[] {
  if (!Array.isArray(actors) || !actors.every((a) => typeof a === 'string' && a.length > 0 && !a.includes(NUL))) {
    throw new InvalidEnvelopeInputError('actors must be a list of non-empty strings');
  }
  return actors as string[];
}

/** Returns the value's length as JSON text (0 when undefined), which a batch weighs its items by. */
export function checkJson(value: JsonValue | undefined, what: string, options: { nulAllowed?: boolean } = {}): number {
  if (value === undefined) return 0;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw new InvalidEnvelopeInputError(`${what} is not serialisable as JSON: ${errorText(err)}`);
  }
  if (text === undefined) throw new InvalidEnvelopeInputError(`${what} is not a JSON value`);
  if (!options.nulAllowed && JSON_NUL.test(text)) throw new InvalidEnvelopeInputError(`${what} contains a NUL character, which PostgreSQL cannot store`);
  return text.length;
}

export function checkText(value: string | undefined, what: string): void {
  if (value !== undefined && (typeof value !== 'string' || value.includes(NUL))) {
    throw new InvalidEnvelopeInputError(`${what} must be a string without NUL characters`);
  }
}

export function checkIndex(value: number | undefined, what: string): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= 0 && value <= 2_147_483_647)) {
    throw new InvalidEnvelopeInputError(`${what} must be a non-negative integer`);
  }
}

export function checkDate(value: Date | undefined, what: string): void {
  if (value !== undefined && !(value instanceof Date && !Number.isNaN(value.getTime()))) {
    throw new InvalidEnvelopeInputError(`${what} must be a valid Date`);
  }
}
