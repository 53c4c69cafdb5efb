/**
 * The two writes every state change makes, for any number of envelopes in one statement each: finishing rows
 * (a final status, its result and message) and appending their events, each event NOTIFYing. One envelope is a
 * batch of one; a batch of finals (batched-finals.ts) pays the same round trip as a single final, both
 * statements sent together (pipelined.ts).
 *
 * The input travels as one JSON array parameter, as in insert-sql.ts, so the statement's text never depends
 * on the batch's size (the server plans it once). Every join of a batch with `envelopes` also names its ids
 * as `id = any(array(...))`: the planner takes a JSON array for 100 rows, and without that bound it joins by
 * hashing a sequential scan of the whole table when the table has a few thousand rows (and for as long as a
 * prepared statement keeps the plan it made while the table was small); with it, ids go through the index.
 */
import type { JsonValue } from '../../protocol/json.ts';
import type { Row, SqlExecutor } from './driver.ts';
import * as rows from './rows.ts';
import { ENVELOPE_COLUMNS, EVENT_COLUMNS, type EnvelopeRow } from './rows.ts';
import { pipelined } from './pipelined.ts';
import { decideFinal } from './state-machine.ts';
import type { EnvelopeEvent, EventState, FinalStatus, UpdateResult } from './store.ts';

export interface Finish {
  status: FinalStatus;
  result?: JsonValue;
  error?: string | null;
  message: string;
  cancelled?: boolean;
}

export interface EventFacts {
  message?: string;
  result?: JsonValue;
  error?: string;
  state?: EventState;
  late?: boolean;
}

/** Finishes locked rows (distinct envelopes), each with its event; a row already final is left as it is. */
export async function finishRows(tx: SqlExecutor, channel: string, items: ReadonlyArray<{ row: EnvelopeRow; finish: Finish }>): Promise<UpdateResult[]> {
  const results = new Array<UpdateResult>(items.length);
  const input: Array<Record<string, JsonValue>> = [];
  // What each applied final writes, as its event records it: the event does not wait for the update's answer.
  const finished: Array<{ i: number; row: EnvelopeRow; facts: EventFacts }> = [];
  items.forEach(({ row, finish }, i) => {
    const decision = decideFinal(row, finish.status);
    if (decision.kind === 'ignore') {
      results[i] = { outcome: 'ignored', envelope: rows.toRecord(row), reason: decision.reason };
      return;
    }
    input.push({
      id: row.id, status: decision.next.status, progress_percent: decision.next.progressPercent, result: rows.resultParam(finish.result),
      error: finish.error ?? null, message: finish.message, cancelled: finish.cancelled === true,
    });
    finished.push({
      i,
      row: { ...row, status: decision.next.status, progressPercent: decision.next.progressPercent },
      facts: { message: finish.message, result: finish.result, error: finish.error ?? undefined },
    });
  });
  if (input.length === 0) return results;
  const [updatedRows, events] = await pipelined(
    tx.query(
      `with input as (
         select f->>'id' as f_id, f->>'status' as f_status, (f->>'progress_percent')::numeric as f_percent,
           (f->>'result')::jsonb as f_result, f->>'error' as f_error, f->>'message' as f_message, (f->>'cancelled')::boolean as f_cancelled
         from jsonb_array_elements($1::text::jsonb) as t(f))
       update envelopes set status = f_status, progress_percent = f_percent, result = coalesce(f_result, result), error = f_error,
         message = f_message, cancelled_at = case when f_cancelled then now() else cancelled_at end, version = version + 1
       from input where id = any(array(select f_id from input)) and id = f_id
       returning ${ENVELOPE_COLUMNS}`,
      [JSON.stringify(input)],
    ),
    appendEvents(tx, channel, finished),
  );
  const updated = byId(updatedRows, (r) => rows.toEnvelopeRow(r));
  finished.forEach(({ i, row }, k) => {
    const next = updated.get(row.id);
    if (!next) throw new Error(`envelope ${row.id} vanished inside its own lock`);
    results[i] = { outcome: 'applied', envelope: rows.toRecord(next), event: events[k]! };
  });
  return results;
}

/** An event's row as the INSERT below reads it from its JSON input: what the row says, and the facts. */
export function eventInput(row: EnvelopeRow, facts: EventFacts): Record<string, JsonValue> {
  return {
    envelope_id: row.id, status: row.status, message: facts.message ?? null, result: rows.resultParam(facts.result), error: facts.error ?? null,
    progress_percent: row.progressPercent, actor: row.routeActors[row.currentActorIdx] ?? null, envelope_state: facts.state ?? null,
    current_actor_idx: row.currentActorIdx, actors: row.routeActors, late: facts.late === true,
  };
}

/**
 * The INSERT of events from `source`, rows of eventInput() as `f` with their order `ord`, returning
 * EVENT_COLUMNS; its caller NOTIFYs each (only a commit sends them).
 */
export function insertEventsFrom(source: string): string {
  return `insert into envelope_updates (envelope_id, status, message, result, error, progress_percent, actor,
           envelope_state, current_actor_idx, actors, late)
         select f->>'envelope_id', f->>'status', f->>'message', (f->>'result')::jsonb, f->>'error', (f->>'progress_percent')::numeric,
           f->>'actor', f->>'envelope_state', (f->>'current_actor_idx')::integer, array(select jsonb_array_elements_text(f->'actors')),
           (f->>'late')::boolean
         from ${source} order by ord
         returning ${EVENT_COLUMNS}`;
}

/** The NOTIFY of an inserted event, as the subscription hub reads it (subscriptions.ts). */
export const notifyEvent = (channel: string, event: string) => `pg_notify(${channel}, ${event}.id::text || ':' || ${event}.envelope_id)`;

/** One event per row (distinct envelopes), in the items' order, each NOTIFYing its channel at commit. */
export async function appendEvents(tx: SqlExecutor, channel: string, items: ReadonlyArray<{ row: EnvelopeRow; facts: EventFacts }>): Promise<EnvelopeEvent[]> {
  const input = items.map(({ row, facts }) => eventInput(row, facts));
  const inserted = byId(
    await tx.query(
      `with ins as (${insertEventsFrom('jsonb_array_elements($1::text::jsonb) with ordinality as t(f, ord)')})
       select ins.*, ${notifyEvent('$2', 'ins')} as notified from ins`,
      [JSON.stringify(input), channel],
    ),
    (r) => rows.toEvent(r),
    'envelope_id',
  );
  return items.map(({ row }) => {
    const event = inserted.get(row.id);
    if (!event) throw new Error(`event for ${row.id} was not written`);
    return event;
  });
}

function byId<T>(found: Row[], convert: (r: Row) => T, key = 'id'): Map<string, T> {
  const map = new Map<string, T>();
  for (const r of found) map.set(String(r[key]), convert(r));
  return map;
}
