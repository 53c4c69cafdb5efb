/**
 * What a scenario did to the envelopes, from the client's records, the gateway's database and the crew's
 * stored results: how many were accepted, how many reached a final state, how many were lost, how many
 * were finished twice, and the longest wait between acceptance and the final state.
 */
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import type postgres from 'postgres';
import type { CallRecord } from './load.ts';

export interface ScenarioRow {
  scenario: string;
  fault: string;
  sent: number;
  /** Answered with an envelope id. */
  accepted: number;
  /** Answered with an error (503 while the database is down, a refused publish while the broker is). */
  refused: number;
  /** No answer at all (the gateway died holding the call). */
  unanswered: number;
  /** Envelopes of the scenario in the gateway's database, whatever their callers heard. */
  stored: number;
  /** Accepted envelopes not yet final when the fault struck. */
  inFlightAtFault: number;
  /** Calls made from the fault until the component was back (the stream does not pause for a fault). */
  sentDuringFault: number;
  succeeded: number;
  failed: number;
  /** Accepted or stored envelopes without a final state at the end. Must be 0. */
  lost: number;
  /** Envelopes with more than one final update at the gateway or more than one stored result. Must be 0. */
  duplicateFinals: number;
  /** Seconds from the gateway saving an envelope to its final state, the worst one. */
  longestGapSeconds: number;
  /** Ids of the lost envelopes and their last status, to explain a failure. */
  lostDetail: string[];
}

interface StoredEnvelope {
  id: string;
  status: string;
  created_at: Date;
  updated_at: Date;
}

export const isFinal = (status: string) => status === 'succeeded' || status === 'failed';

export async function storedEnvelopes(sql: postgres.Sql, schema: string, scenario: string): Promise<StoredEnvelope[]> {
  return sql<StoredEnvelope[]>`select id, status, created_at, updated_at from ${sql(schema)}.envelopes where payload->>'scenario' = ${scenario}`;
}

/** Accepted envelopes of the scenario that are not final yet; undefined while the database is unreachable. */
export async function unfinishedAccepted(sql: postgres.Sql, schema: string, scenario: string, calls: readonly CallRecord[]): Promise<number | undefined> {
  try {
    const status = new Map((await storedEnvelopes(sql, schema, scenario)).map((e) => [e.id, e.status]));
    return calls.filter((c) => c.kind === 'accepted' && !isFinal(status.get(c.id!) ?? 'missing')).length;
  } catch {
    return undefined;
  }
}

/** Every id (accepted or only stored) that must reach a final state. */
export function mustFinish(calls: readonly CallRecord[], stored: readonly StoredEnvelope[]): Set<string> {
  return new Set([...calls.filter((c) => c.kind === 'accepted').map((c) => c.id!), ...stored.map((e) => e.id)]);
}

function storedResultCounts(resultsDir: string, resultsPrefix: string): Map<string, number> {
  const counts = new Map<string, number>();
  const root = join(resultsDir, resultsPrefix);
  let files: string[];
  try {
    files = readdirSync(root, { recursive: true, encoding: 'utf8' });
  } catch {
    return counts;
  }
  for (const file of files) {
    // `ids/<id>.json` are the crew's once-only markers, not results.
    if (file.split('/')[0] === 'ids' || !file.endsWith('.json')) continue;
    const id = basename(file, '.json');
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

export async function tally(input: {
  sql: postgres.Sql;
  schema: string;
  scenario: string;
  fault: string;
  calls: readonly CallRecord[];
  sent: number;
  inFlightAtFault: number;
  /** From the fault until the faulty component was back, ms since the epoch. */
  faultWindow: { from: number; to: number };
  resultsDir: string;
}): Promise<ScenarioRow> {
  const { sql, schema, scenario, calls } = input;
  const stored = await storedEnvelopes(sql, schema, scenario);
  const byId = new Map(stored.map((e) => [e.id, e]));
  const expected = mustFinish(calls, stored);
  const finalUpdates = await sql<Array<{ id: string; n: number }>>`
    select u.envelope_id as id, count(*)::int as n from ${sql(schema)}.envelope_updates u
    join ${sql(schema)}.envelopes e on e.id = u.envelope_id
    where e.payload->>'scenario' = ${scenario} and u.status in ('succeeded', 'failed')
    group by u.envelope_id having count(*) > 1`;
  const results = storedResultCounts(input.resultsDir, 'happy-asya/');
  const duplicates = new Set([...finalUpdates.map((r) => r.id), ...[...expected].filter((id) => (results.get(id) ?? 0) > 1)]);
  const finals = stored.filter((e) => isFinal(e.status));
  const lost = [...expected].filter((id) => !isFinal(byId.get(id)?.status ?? 'missing'));
  const gaps = finals.map((e) => (e.updated_at.getTime() - e.created_at.getTime()) / 1000);
  return {
    scenario,
    fault: input.fault,
    sent: input.sent,
    accepted: calls.filter((c) => c.kind === 'accepted').length,
    refused: calls.filter((c) => c.kind === 'refused').length,
    unanswered: calls.filter((c) => c.kind === 'unanswered').length,
    stored: stored.length,
    inFlightAtFault: input.inFlightAtFault,
    sentDuringFault: calls.filter((c) => c.sentAt >= input.faultWindow.from && c.sentAt <= input.faultWindow.to).length,
    succeeded: finals.filter((e) => e.status === 'succeeded').length,
    failed: finals.filter((e) => e.status === 'failed').length,
    lost: lost.length,
    duplicateFinals: duplicates.size,
    longestGapSeconds: gaps.length > 0 ? Math.max(...gaps) : 0,
    lostDetail: lost.slice(0, 10).map((id) => `${id}: ${byId.get(id)?.status ?? 'not in the database'}`),
  };
}

const COLUMNS: Array<[string, (r: ScenarioRow) => string]> = [
  ['scenario', (r) => r.scenario],
  ['fault', (r) => r.fault],
  ['sent', (r) => String(r.sent)],
  ['accepted', (r) => String(r.accepted)],
  ['refused', (r) => String(r.refused)],
  ['unanswered', (r) => String(r.unanswered)],
  ['stored', (r) => String(r.stored)],
  ['in flight at fault', (r) => String(r.inFlightAtFault)],
  ['sent during fault', (r) => String(r.sentDuringFault)],
  ['final', (r) => String(r.succeeded + r.failed)],
  ['of them failed', (r) => String(r.failed)],
  ['lost', (r) => String(r.lost)],
  ['duplicate finals', (r) => String(r.duplicateFinals)],
  ['longest accept→final', (r) => `${r.longestGapSeconds.toFixed(1)} s`],
];

/** A Markdown table, as docs/operations.md shows it. */
export function chaosTable(rows: readonly ScenarioRow[]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(COLUMNS.map(([h]) => h)), line(COLUMNS.map(() => '---')), ...rows.map((r) => line(COLUMNS.map(([, f]) => f(r))))].join('\n');
}
