/**
 * The optimistic progress write on a real PostgreSQL: the store's conformance suite covers what reports do;
 * here a connection of the test's own runs the two statements, so an envelope can be changed exactly between
 * the read and the write.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestSchema, type TestSchema } from '../../test/support/postgres.ts';
import type { Row, SqlExecutor } from './driver.ts';
import { openPostgresStore } from './postgres.ts';
import { applyProgressReports, MOVED } from './progress-sql.ts';
import { channelFor } from './sql-store.ts';
import type { EnvelopeStore } from './store.ts';

let schema: TestSchema;
let store: EnvelopeStore;
let sql: postgres.Sql;
let counter = 0;

beforeAll(async () => {
  schema = await createTestSchema('asya_progress_sql');
  store = await openPostgresStore({ url: schema.url, schema: schema.name });
  sql = postgres(schema.url, { max: 1, onnotice: () => {}, connection: { search_path: schema.name } });
});

afterAll(async () => {
  await sql?.end();
  await store?.close();
  await schema?.drop();
});

/** Runs statements on the test's connection; `between` runs after the first (the read) has answered. */
function executor(between?: () => Promise<unknown>): SqlExecutor {
  let statements = 0;
  return {
    async query(text, params = []) {
      if (statements++ === 1) await between?.();
      return (await sql.unsafe(text, params as Array<string | number | boolean | null>)) as unknown as Row[];
    },
    exec: async (script) => void (await sql.unsafe(script)),
  };
}

async function envelope(): Promise<string> {
  const id = `progress-sql-${++counter}`;
  await store.create({ id, actors: ['a', 'b'], payload: {} });
  return id;
}

describe('applyProgressReports', () => {
  it('writes several reports about one envelope as one change, with an event each in their order', async () => {
    const id = await envelope();
    const answers = await applyProgressReports(executor(), channelFor(schema.name), [
      { id, input: { actorState: 'received', currentActorIdx: 0, message: 'got it' } },
      { id, input: { actorState: 'completed', currentActorIdx: 1 } },
      { id: 'nobody', input: { actorState: 'received' } },
    ]);
    expect(answers[0]).toMatchObject({ outcome: 'applied', envelope: { status: 'running', progressPercent: 5, message: 'got it' }, event: { envelopeState: 'received' } });
    expect(answers[1]).toMatchObject({ outcome: 'applied', envelope: { progressPercent: 50, currentActorIdx: 1, message: 'got it' }, event: { envelopeState: 'completed' } });
    expect(answers[2]).toEqual({ outcome: 'not_found', id: 'nobody' });
    const [first, second] = answers as Array<{ event: { seq: number } }>;
    expect(second!.event.seq).toBeGreaterThan(first!.event.seq);
    expect(await store.get(id)).toMatchObject({ status: 'running', progressPercent: 50, currentActorIdx: 1, currentActorName: 'b', message: 'got it' });
    expect((await store.eventsSince(id, 0)).map((e) => e.envelopeState ?? e.status)).toEqual(['pending', 'received', 'completed']);
  });

  it('leaves an envelope that changed after the read as it is and says so, writing none of its events', async () => {
    const id = await envelope();
    const other = await envelope();
    const answers = await applyProgressReports(
      executor(() => store.setFinal(id, { status: 'succeeded', result: 'done' })),
      channelFor(schema.name),
      [
        { id, input: { actorState: 'completed', currentActorIdx: 1 } },
        { id: other, input: { actorState: 'received', currentActorIdx: 0 } },
      ],
    );
    expect(answers[0]).toBe(MOVED);
    expect(answers[1]).toMatchObject({ outcome: 'applied', envelope: { id: other, status: 'running' } });
    expect(await store.get(id)).toMatchObject({ status: 'succeeded', progressPercent: 100, result: 'done' });
    expect((await store.eventsSince(id, 0)).map((e) => e.status)).toEqual(['pending', 'succeeded']);
    // Decided again on what it is now, through the store: a final envelope takes no progress.
    expect(await store.appendProgress(id, { actorState: 'completed', currentActorIdx: 1 })).toMatchObject({ outcome: 'ignored', reason: 'envelope is already succeeded' });
  });
});
