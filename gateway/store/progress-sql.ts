/**
 * Progress reports without a transaction of their own: the envelopes are read, the reports decided in
 * arrival order (several for one envelope fold into its last state), and one statement writes every
 * envelope that changed together with its events and their NOTIFYs, each envelope only if its `version` is
 * still the one read. Two autocommitted statements, where a transaction took four round trips (BEGIN, lock,
 * update with its events, COMMIT) and held its locks across them.
 *
 * An envelope that changed meanwhile (a final, a pause) is not written: its reports come back as MOVED, to be
 * decided again on what it is now. A report decided as ignored on what was read is answered so: the read is
 * the moment it was applied at. The statement locks its envelopes in id order, as every batch does, so it
 * never waits on another batch in a cycle. Its joins with `envelopes` name the ids with `any(array(...))` too,
 * so they go through the index at any table size (finish-sql.ts says why).
 */
import { errorText } from '../../protocol/errors.ts';
import type { SqlExecutor } from './driver.ts';
import { eventInput, insertEventsFrom, notifyEvent, type EventFacts } from './finish-sql.ts';
import * as rows from './rows.ts';
import { ENVELOPE_COLUMNS, TEXT_ARRAY, type EnvelopeRow } from './rows.ts';
import { decideProgress } from './state-machine.ts';
import type { EnvelopeEvent, ProgressInput, UpdateResult } from './store.ts';

export interface ProgressWrite {
  id: string;
  input: ProgressInput;
}

/** The envelope changed between the read and the write: decide the report again. */
export const MOVED = Symbol('moved');

/**
 * The write committed but its answer could not be read back: the reports must not be applied again (each would
 * get a second event), so the batch fails as a lost connection does.
 */
export class ProgressWrittenError extends Error {
  override readonly name = 'ProgressWrittenError';
}

interface Applied {
  i: number;
  /** The envelope as this report leaves it. */
  row: EnvelopeRow;
  facts: EventFacts;
}

/** One report on the envelope as it is: its answer when nothing changes, else the envelope after it and its event. */
export function decideReport(id: string, row: EnvelopeRow | undefined, input: ProgressInput): { answer: UpdateResult } | { after: EnvelopeRow; facts: EventFacts } {
  if (!row) return { answer: { outcome: 'not_found', id } };
  // The parent id's own branch ended; later reports for that id are stale retries.
  if (row.branchStatus) return { answer: { outcome: 'ignored', envelope: rows.toRecord(row), reason: 'own branch already finished' } };
  const decision = decideProgress(row, input);
  if (decision.kind === 'ignore') return { answer: { outcome: 'ignored', envelope: rows.toRecord(row), reason: decision.reason } };
  const next = decision.next;
  return {
    after: {
      ...row, status: next.status, progressPercent: next.progressPercent, currentActorIdx: next.currentActorIdx,
      currentActorName: next.currentActorName, routeActors: next.routeActors, totalActors: next.routeActors.length,
      message: next.late ? row.message : input.message ?? row.message,
    },
    facts: { message: input.message, state: input.actorState, late: next.late },
  };
}

export async function applyProgressReports(db: SqlExecutor, channel: string, batch: readonly ProgressWrite[]): Promise<Array<UpdateResult | typeof MOVED>> {
  const ids = [...new Set(batch.map((w) => w.id))];
  const read = new Map(
    (await db.query(`select ${ENVELOPE_COLUMNS} from envelopes where id = any(${TEXT_ARRAY(1)})`, [JSON.stringify(ids)])).map((r) => {
      const row = rows.toEnvelopeRow(r);
      return [row.id, row] as const;
    }),
  );
  const answers = new Array<UpdateResult | typeof MOVED>(batch.length);
  const now = new Map(read);
  const applied: Applied[] = [];
  batch.forEach(({ id, input }, i) => {
    const decided = decideReport(id, now.get(id), input);
    if ('answer' in decided) answers[i] = decided.answer;
    else {
      now.set(id, decided.after);
      applied.push({ i, row: decided.after, facts: decided.facts });
    }
  });
  if (applied.length === 0) return answers;

  const changed = [...new Set(applied.map((a) => a.row.id))].map((id) => {
    const row = now.get(id)!;
    return {
      id, version: read.get(id)!.version, status: row.status, progress_percent: row.progressPercent, current_actor_idx: row.currentActorIdx,
      current_actor_name: row.currentActorName, message: row.message, route_actors: row.routeActors,
    };
  });
  const written = await db.query(
    `with input as (
       select f->>'id' as f_id, (f->>'version')::integer as f_version, f->>'status' as f_status,
         (f->>'progress_percent')::numeric as f_percent, (f->>'current_actor_idx')::integer as f_idx,
         f->>'current_actor_name' as f_name, f->>'message' as f_message,
         array(select jsonb_array_elements_text(f->'route_actors')) as f_actors
       from jsonb_array_elements($1::text::jsonb) as t(f)),
     locked as (
       select input.* from input join envelopes e on e.id = input.f_id where e.id = any(array(select f_id from input)) order by e.id for update of e),
     upd as (
       update envelopes set status = f_status, progress_percent = f_percent, current_actor_idx = f_idx, current_actor_name = f_name,
         message = f_message, route_actors = f_actors, total_actors = cardinality(f_actors), version = version + 1
       from locked where id = any(array(select f_id from locked)) and id = f_id and version = f_version
       returning ${ENVELOPE_COLUMNS}),
     ev as (${insertEventsFrom(`jsonb_array_elements($2::text::jsonb) with ordinality as t(f, ord) where f->>'envelope_id' in (select id from upd)`)})
     select 'envelope' as kind, to_jsonb(upd) as row from upd
     union all
     select 'event' as kind, to_jsonb(ev) as row from ev, lateral (select ${notifyEvent('$3', 'ev')}) as notified`,
    [JSON.stringify(changed), JSON.stringify(applied.map((a) => eventInput(a.row, a.facts))), channel],
  );
  const updated = new Map<string, EnvelopeRow>();
  const events: EnvelopeEvent[] = [];
  try {
    for (const { kind, row } of written as Array<{ kind: string; row: Record<string, unknown> }>) {
      if (kind === 'envelope') {
        const envelope = rows.toEnvelopeRow(row);
        updated.set(envelope.id, envelope);
      } else events.push(rows.toEvent(row));
    }
  } catch (err) {
    throw new ProgressWrittenError(`progress written, but its rows could not be read: ${errorText(err)}`, { cause: err });
  }
  // Events are numbered in the order they were inserted, which is the reports' order.
  events.sort((a, b) => a.seq - b.seq);
  const landed = applied.filter((a) => updated.has(a.row.id));
  if (events.length !== landed.length) throw new ProgressWrittenError(`progress wrote ${events.length} events for ${landed.length} reports`);
  landed.forEach((a, k) => {
    const stored = updated.get(a.row.id)!;
    answers[a.i] = { outcome: 'applied', envelope: rows.toRecord({ ...a.row, version: stored.version, updatedAt: stored.updatedAt }), event: events[k]! };
  });
  // Every report about an envelope that moved is decided again, those answered as ignored on the old read too.
  batch.forEach(({ id }, i) => {
    if (now.get(id) !== read.get(id) && !updated.has(id)) answers[i] = MOVED;
  });
  return answers;
}
