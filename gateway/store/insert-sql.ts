/**
 * Inserting an envelope. A plain create is one statement: the row, its first event and the NOTIFY in a
 * data-modifying CTE, which is as atomic as a transaction and costs one round trip instead of four
 * (BEGIN, insert, event, COMMIT). That round trip count is what bounds tool calls per second.
 */
import type { SqlExecutor } from './driver.ts';
import * as rows from './rows.ts';
import { ENVELOPE_COLUMNS, TEXT_ARRAY, type EnvelopeRow } from './rows.ts';
import type { CreateEnvelopeInput } from './store.ts';

const COLUMNS = `id, parent_id, status, tool_name, route_actors, route_current, route_metadata, headers, payload, timeout_sec,
  deadline, progress_percent, current_actor_idx, current_actor_name, total_actors, actors_completed, fanout_index`;
const VALUES = `$1, $2, 'pending', $3, ${TEXT_ARRAY(4)}, $5, $6::text::jsonb, $7::text::jsonb, $8::text::jsonb, $9, $10::timestamptz, 0,
  $11, $12, $13, 0, $14`;

function params(id: string, actors: string[], input: Omit<CreateEnvelopeInput, 'id' | 'actors'>, fanoutIndex: number | null) {
  const current = input.routeCurrent ?? 0;
  return [id, input.parentId ?? null, input.toolName ?? null, JSON.stringify(actors), current,
    rows.jsonParam(input.routeMetadata), rows.jsonParam(input.headers), JSON.stringify(input.payload ?? null),
    input.timeoutSeconds ?? null, rows.dateParam(input.deadline), current, actors[current] ?? null, actors.length, fanoutIndex];
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

/** The envelope and its "Envelope created" event in one statement. undefined when the id exists. */
export async function createWithEvent(
  db: SqlExecutor,
  channel: string,
  id: string,
  actors: string[],
  input: Omit<CreateEnvelopeInput, 'id' | 'actors'>,
): Promise<EnvelopeRow | undefined> {
  const inserted = await db.query(
    `with ins as (
       insert into envelopes (${COLUMNS}) values (${VALUES}) on conflict (id) do nothing returning ${ENVELOPE_COLUMNS}),
     ev as (
       insert into envelope_updates (envelope_id, status, message, progress_percent, actor, current_actor_idx, actors)
       select id, status, 'Envelope created', progress_percent, current_actor_name, current_actor_idx, route_actors from ins
       returning id, envelope_id)
     select ins.*, (select pg_notify($15, ev.id::text || ':' || ev.envelope_id) from ev) as notified from ins`,
    [...params(id, actors, input, null), channel],
  );
  return inserted[0] ? rows.toEnvelopeRow(inserted[0]) : undefined;
}
