/**
 * Inserting envelopes: one inside a caller's transaction (fan-out children), or a batch of plain creates
 * in one statement (see group-commit.ts for why they are batched).
 */
import type { SqlExecutor } from './driver.ts';
import * as rows from './rows.ts';
import type { JsonValue } from '../../protocol/json.ts';
import { ENVELOPE_COLUMNS, ENVELOPE_COLUMNS_BUT_PAYLOAD, TEXT_ARRAY, type EnvelopeRow } from './rows.ts';
import type { CreateEnvelopeInput, IdempotencyInput } from './store.ts';

const COLUMNS = `id, parent_id, status, tool_name, route_actors, route_current, route_metadata, headers, payload, timeout_sec,
  deadline, progress_percent, current_actor_idx, current_actor_name, total_actors, actors_completed, fanout_index, owner`;
const VALUES = `$1, $2, 'pending', $3, ${TEXT_ARRAY(4)}, $5, $6::text::jsonb, $7::text::jsonb, $8::text::jsonb, $9, $10::timestamptz, 0,
  $11, $12, $13, 0, $14, $15`;

function params(id: string, actors: string[], input: Omit<CreateEnvelopeInput, 'id' | 'actors'>, fanoutIndex: number | null) {
  const current = input.routeCurrent ?? 0;
  return [id, input.parentId ?? null, input.toolName ?? null, JSON.stringify(actors), current,
    rows.jsonParam(input.routeMetadata), rows.jsonParam(input.headers), JSON.stringify(input.payload ?? null),
    input.timeoutSeconds ?? null, rows.dateParam(input.deadline), current, actors[current] ?? null, actors.length, fanoutIndex,
    input.owner ?? null];
}

/** Inside a caller's transaction; the caller writes the event. undefined when the id exists. */
export async function insertEnvelope(
  tx: SqlExecutor,
  id: string,
  actors: string[],
  input: Omit<CreateEnvelopeInput, 'id' | 'actors'>,
  fanoutIndex: number | null,
): Promise<EnvelopeRow | undefined> {
  const inserted = await tx.query(
    `insert into envelopes (${COLUMNS}) values (${VALUES}) on conflict (id) do nothing returning ${ENVELOPE_COLUMNS}`,
    params(id, actors, input, fanoutIndex),
  );
  return inserted[0] ? rows.toEnvelopeRow(inserted[0]) : undefined;
}

/** One envelope of a batched create, already checked; `element` is its JSON for the batch statement. */
export interface NewEnvelope {
  id: string;
  payload: JsonValue;
  element: string;
}

/** The JSON object a batch carries for one envelope; absent keys read as SQL NULL, a JSON null stays JSON. */
export function newEnvelope(
  id: string,
  actors: string[],
  input: Omit<CreateEnvelopeInput, 'id' | 'actors'>,
  idempotency?: IdempotencyInput,
): NewEnvelope {
  const current = input.routeCurrent ?? 0;
  const payload = input.payload ?? null;
  const element = JSON.stringify({
    id,
    parent_id: input.parentId,
    tool_name: input.toolName,
    owner: input.owner,
    actors,
    route_current: current,
    route_metadata: input.routeMetadata,
    headers: input.headers,
    payload,
    timeout_sec: input.timeoutSeconds,
    deadline: rows.dateParam(input.deadline) ?? undefined,
    current_actor_name: actors[current],
    total_actors: actors.length,
    outbox_lease_ms: input.outbox?.leaseMs,
    idempotency_key: idempotency?.key,
    idempotency_hash: idempotency?.requestHash,
  });
  return { id, payload, element };
}

/**
 * Envelopes and their "Envelope created" events in one statement: the rows, the events, the outbox entries
 * of those that asked for one, and the NOTIFYs in a data-modifying CTE, as atomic as a transaction and one round trip however many envelopes it carries.
 * The batch travels as one JSON array parameter, so the statement text (and its prepared plan) is the same
 * for any batch size. The payload is not read back: the row carries the caller's own value, which the
 * stored jsonb equals up to key order. Answers a row per input, in order; undefined where the id, or the
 * owner's idempotency key, existed already (also earlier in the same batch: ON CONFLICT without a target
 * skips whichever unique index a row collides with). Ids must be distinct within a batch: a repeated one
 * would be skipped and both callers would see the first one's row.
 */
export async function createWithEvents(db: SqlExecutor, channel: string, batch: NewEnvelope[]): Promise<Array<EnvelopeRow | undefined>> {
  const inserted = await db.query(
    `with input as (
       select e, ord from jsonb_array_elements($1::text::jsonb) with ordinality as t(e, ord)),
     ins as (
       insert into envelopes (${COLUMNS}, idempotency_key, idempotency_hash)
       select e->>'id', e->>'parent_id', 'pending', e->>'tool_name', array(select jsonb_array_elements_text(e->'actors')),
         (e->>'route_current')::integer, e->'route_metadata', e->'headers', e->'payload', (e->>'timeout_sec')::integer,
         (e->>'deadline')::timestamptz, 0, (e->>'route_current')::integer, e->>'current_actor_name',
         (e->>'total_actors')::integer, 0, null, e->>'owner', e->>'idempotency_key', e->>'idempotency_hash'
       from input order by ord
       on conflict do nothing returning ${ENVELOPE_COLUMNS_BUT_PAYLOAD}),
     ev as (
       insert into envelope_updates (envelope_id, status, message, progress_percent, actor, current_actor_idx, actors)
       select id, status, 'Envelope created', progress_percent, current_actor_name, current_actor_idx, route_actors from ins
       returning id, envelope_id),
     outbox as (
       insert into envelope_outbox (envelope_id, claimed_until)
       select ins.id, now() + ((input.e->>'outbox_lease_ms')::bigint * interval '1 millisecond')
       from ins join input on input.e->>'id' = ins.id where input.e ? 'outbox_lease_ms')
     select ins.*, pg_notify($2, ev.id::text || ':' || ev.envelope_id) as notified from ins join ev on ev.envelope_id = ins.id`,
    [`[${batch.map((b) => b.element).join(',')}]`, channel],
  );
  const byId = new Map(inserted.map((r) => [String(r.id), r]));
  return batch.map((b) => {
    const r = byId.get(b.id);
    return r && rows.toEnvelopeRow({ ...r, payload: b.payload });
  });
}
