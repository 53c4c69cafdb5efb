/**
 * The chaos suite's verdict can fail: on the real gateway schema, an unfinished envelope, an accepted id the
 * database never saw, a second final update and a second stored result are each counted.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { openPostgresStore, type EnvelopeStore } from '../../gateway/store/index.ts';
import { createTestSchema, type TestSchema } from '../support/postgres.ts';
import type { CallRecord } from './load.ts';
import { chaosTable, tally } from './tally.ts';

let schema: TestSchema;
let store: EnvelopeStore;
let sql: postgres.Sql;
let results: string;

beforeAll(async () => {
  schema = await createTestSchema('asya_chaos_tally');
  store = await openPostgresStore({ url: schema.url, schema: schema.name, migrate: true });
  sql = postgres(schema.url, { max: 1, onnotice: () => {} });
  results = mkdtempSync(join(tmpdir(), 'asya-chaos-tally-'));
});

afterAll(async () => {
  await store?.close();
  await sql?.end();
  await schema?.drop();
  rmSync(results, { recursive: true, force: true });
});

const storeResult = (folder: string, id: string) => {
  mkdirSync(join(results, 'happy-asya', folder), { recursive: true });
  writeFileSync(join(results, 'happy-asya', folder, `${id}.json`), '{}');
};

test('lost and duplicate finals are counted, and unanswered calls whose envelope was saved must finish too', async () => {
  const scenario = 'tally';
  const create = (id: string) => store.create({ id, actors: ['a'], payload: { scenario, n: 0 }, toolName: 'chaos' });
  for (const id of ['fine', 'twice-reported', 'twice-stored', 'stuck', 'saved-unanswered']) await create(id);
  await create('other-scenario').then(() => sql`update ${sql(schema.name)}.envelopes set payload = '{"scenario": "other"}' where id = 'other-scenario'`);
  for (const id of ['fine', 'twice-reported', 'twice-stored']) await store.setFinal(id, { status: 'succeeded' });
  // The store refuses a second final, so write the history a buggy gateway would have written.
  await sql`insert into ${sql(schema.name)}.envelope_updates (envelope_id, status) values ('twice-reported', 'succeeded')`;
  storeResult('t1/a', 'fine');
  storeResult('t1/a', 'twice-stored');
  storeResult('t2/a', 'twice-stored');
  // Markers are not results.
  storeResult('ids', 'fine');

  const accepted = (n: number, id: string): CallRecord => ({ n, sentAt: Date.now(), kind: 'accepted', id });
  const calls: CallRecord[] = [
    accepted(0, 'fine'),
    accepted(1, 'twice-reported'),
    accepted(2, 'twice-stored'),
    accepted(3, 'stuck'),
    accepted(4, 'never-saved'),
    { n: 5, sentAt: Date.now(), kind: 'unanswered', detail: 'socket hang up' },
    { n: 6, sentAt: Date.now(), kind: 'refused', detail: '503' },
  ];
  const row = await tally({ sql, schema: schema.name, scenario, fault: 'none', calls, sent: 7, inFlightAtFault: 1, faultWindow: { from: 0, to: Date.now() }, resultsDir: results });
  expect(row).toMatchObject({ sent: 7, accepted: 5, refused: 1, unanswered: 1, stored: 5, sentDuringFault: 7, succeeded: 3, failed: 0, lost: 3, duplicateFinals: 2 });
  expect(row.lostDetail.sort()).toEqual(['never-saved: not in the database', 'saved-unanswered: pending', 'stuck: pending']);
  expect(chaosTable([row]).split('\n')[2]).toMatch(/^\| tally \| none \| 7 \| 5 \| 1 \| 1 \| 5 \| 1 \| 7 \| 3 \| 0 \| 3 \| 2 \| \d+\.\d s \|$/);
});
