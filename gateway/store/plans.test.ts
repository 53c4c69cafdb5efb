/**
 * The store's statements that look rows up by a batch of ids go through an index on a table of a few thousand
 * rows, where PostgreSQL plans `in (select jsonb_array_elements_text(...))` as a hash join over a sequential
 * scan of the whole table (it takes the JSON array for 100 rows); a prepared statement then keeps that plan.
 * Each statement's text is captured from the store's own code and EXPLAINed on a real server.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestSchema, type TestSchema } from '../../test/support/postgres.ts';
import type { Row, SqlExecutor, SqlParam } from './driver.ts';
import { publishedBatcher } from './outbox-sql.ts';
import { openPostgresStore } from './postgres.ts';
import { eventsBySeq, summaries } from './reads.ts';

const ROWS = 5000;

/** Records the statements a store function sends, answering none of them. */
function recorder(): { db: SqlExecutor; sent: Array<{ text: string; params: readonly SqlParam[] }> } {
  const sent: Array<{ text: string; params: readonly SqlParam[] }> = [];
  return {
    sent,
    db: {
      async query(text: string, params: readonly SqlParam[] = []): Promise<Row[]> {
        sent.push({ text, params });
        return [];
      },
      async exec() {},
    },
  };
}

let schema: TestSchema;
let sql: postgres.Sql;

beforeAll(async () => {
  schema = await createTestSchema('asya_plans');
  await (await openPostgresStore({ url: schema.url, schema: schema.name })).close();
  sql = postgres(schema.url, { max: 1, onnotice: () => {}, connection: { search_path: schema.name } });
  await sql.unsafe(`insert into envelopes (id, status, route_actors) select 'env-' || n, 'running', array['a'] from generate_series(1, ${ROWS}) as n`);
  await sql.unsafe(`insert into envelope_updates (envelope_id, status) select 'env-' || n, 'running' from generate_series(1, ${ROWS}) as n`);
  await sql.unsafe(`insert into envelope_outbox (envelope_id, claimed_until) select 'env-' || n, now() from generate_series(1, ${ROWS}) as n`);
  for (const table of ['envelopes', 'envelope_updates', 'envelope_outbox']) await sql.unsafe(`analyze ${table}`);
}, 60_000);

afterAll(async () => {
  await sql?.end();
  await schema?.drop();
});

async function plan(statement: { text: string; params: readonly SqlParam[] }): Promise<string> {
  const lines = await sql.unsafe(`explain ${statement.text}`, statement.params as postgres.ParameterOrJSON<never>[]);
  return lines.map((r) => String(r['QUERY PLAN'])).join('\n');
}

describe('statements that take a batch of ids', () => {
  it('read events by seq through the index', async () => {
    const { db, sent } = recorder();
    await eventsBySeq(db, [10, 11, 12]);
    const text = await plan(sent[0]!);
    expect(text).toMatch(/Index .*envelope_updates/);
    expect(text).not.toMatch(/Seq Scan on envelope_updates/);
  });

  it('read summaries through the index', async () => {
    const { db, sent } = recorder();
    await summaries(db, ['env-10', 'env-11']);
    const text = await plan(sent[0]!);
    expect(text).toMatch(/Index .*envelopes/);
    expect(text).not.toMatch(/Seq Scan on envelopes/);
  });

  it('delete published outbox entries through the index', async () => {
    const { db, sent } = recorder();
    await publishedBatcher(db).submit('env-10', 1);
    const text = await plan(sent[0]!);
    expect(text).toMatch(/Index .*envelope_outbox/);
    expect(text).not.toMatch(/Seq Scan on envelope_outbox/);
  });
});
