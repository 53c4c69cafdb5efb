import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import {
  countBackends,
  createTestSchema,
  startOutageRelay,
  terminateBackends,
  terminateOneBackend,
  type PostgresOutage,
  type TestSchema,
} from '../../test/support/postgres.ts';
import { storeConformance, uid, waitFor } from './conformance.case.ts';
import originalSchema from './migrations/001_initial.ts';
import { MIGRATIONS } from './migrations/index.ts';
import { openPostgresStore, type PostgresStoreOptions } from './postgres.ts';
import { StoreUnavailableError, type EnvelopeEvent, type EnvelopeStore } from './store.ts';
import { errorText } from '../../protocol/errors.ts';

const schemas: TestSchema[] = [];
const stores: EnvelopeStore[] = [];
const relays: PostgresOutage[] = [];

async function freshSchema(): Promise<TestSchema> {
  const schema = await createTestSchema('asya_store');
  schemas.push(schema);
  return schema;
}

async function open(schema: TestSchema, extra: Partial<PostgresStoreOptions> = {}): Promise<EnvelopeStore> {
  const store = await openPostgresStore({ url: schema.url, schema: schema.name, ...extra });
  stores.push(store);
  return store;
}

afterAll(async () => {
  await Promise.allSettled(stores.map((s) => s.close()));
  await Promise.allSettled(relays.map((r) => r.close()));
  for (const schema of schemas) await schema.drop();
});

let shared: TestSchema | undefined;
storeConformance('postgres', {
  open: async () => open((shared = await freshSchema())),
  openPeer: async () => open(shared as TestSchema),
  openThrowaway: async () => openPostgresStore({ url: (shared as TestSchema).url, schema: (shared as TestSchema).name }),
});

describe('postgres: migrations', () => {
  it('records versions once and is a no-op the second time', async () => {
    const schema = await freshSchema();
    await open(schema);
    await open(schema);
    const sql = postgres(schema.url, { max: 1, onnotice: () => {}, connection: { search_path: schema.name } });
    try {
      const versions = await sql`select version from schema_migrations order by version`;
      expect(versions.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    } finally {
      await sql.end();
    }
  });

  it("adopts a database written by the original gateway and reads its rows", async () => {
    const schema = await freshSchema();
    const sql = postgres(schema.url, { max: 1, onnotice: () => {}, connection: { search_path: schema.name } });
    try {
      await sql.unsafe(originalSchema).simple();
      // As the Go gateway wrote it: '' for no error, Go's zero time for no deadline, no result.
      await sql`insert into envelopes (id, status, route_actors, payload, error, deadline, total_actors)
                values ('legacy', 'running', ${['a', 'b']}::text[], '{"k":1}', '', '0001-01-01T00:00:00Z', 2)`;
    } finally {
      await sql.end();
    }
    const store = await open(schema);
    expect(await store.get('legacy')).toMatchObject({ status: 'running', error: null, deadline: null, payload: { k: 1 }, version: 1 });
    expect(await store.failOverdue()).toEqual([]);
    expect(await store.setFinal('legacy', { status: 'succeeded' })).toMatchObject({ outcome: 'applied' });
  });
});

describe('postgres: replicas and restarts', () => {
  it('an update written through one instance arrives on a subscription held by another', async () => {
    const schema = await freshSchema();
    const [a, b] = [await open(schema), await open(schema)];
    const id = uid('cross');
    await a.create({ id, actors: ['x'], payload: null });
    const seen: EnvelopeEvent[] = [];
    await b.subscribe(id, (e) => seen.push(e));
    await a.appendProgress(id, { actorState: 'processing', currentActorIdx: 0 });
    await waitFor(() => seen.length === 1);
    expect(seen[0]).toMatchObject({ envelopeId: id, progressPercent: 50, envelopeState: 'processing' });
  });

  it('keeps history across close and reopen', async () => {
    const schema = await freshSchema();
    const first = await openPostgresStore({ url: schema.url, schema: schema.name });
    await first.create({ id: 'kept', actors: ['a'], payload: [1] });
    await first.setFinal('kept', { status: 'succeeded', result: 'r' });
    await first.close();
    const second = await open(schema);
    expect(await second.get('kept')).toMatchObject({ status: 'succeeded', result: 'r' });
    expect((await second.eventsSince('kept', 0)).map((e) => e.status)).toEqual(['pending', 'succeeded']);
  });
});

/** Retries what the database refused while it was away; an update counts once a call resolved. */
async function persist<T>(write: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await write();
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe('postgres: losing the database', () => {
  it('recovers from killed connections without losing an accepted update', async () => {
    const schema = await freshSchema();
    const writerApp = uid('writer');
    const readerApp = uid('reader');
    const writer = await open(schema, { applicationName: writerApp, closeTimeoutSeconds: 1 });
    const reader = await open(schema, { applicationName: readerApp, closeTimeoutSeconds: 1 });
    const id = uid('killed');
    await writer.create({ id, actors: ['a'], payload: null });
    const seen: EnvelopeEvent[] = [];
    await reader.subscribe(id, (e) => seen.push(e));
    const accepted: number[] = [];
    for (let i = 0; i < 30; i++) {
      if (i === 10 || i === 20) {
        // The reader's listener reconnects on its own, in its own time: the second kill waits for it to be back.
        await waitFor(async () => (await countBackends(readerApp)) > 0, 30_000);
        expect(await terminateBackends(writerApp)).toBeGreaterThan(0);
        expect(await terminateBackends(readerApp)).toBeGreaterThan(0);
      }
      const r = await persist(() => writer.appendProgress(id, { message: `note ${i}` }));
      if (r.outcome === 'applied') accepted.push(r.event.seq);
    }
    await persist(() => writer.setFinal(id, { status: 'succeeded' }));
    // Through persist() too: the reader's own catch-up may have met a killed connection, and its store then
    // refuses calls until its next probe (the outage gate), as a gateway answers 503 for a moment.
    const stored = (await persist(() => reader.eventsSince(id, 0))).slice(1);
    expect(stored.map((e) => e.seq).slice(0, 30)).toEqual(accepted);
    // Bounds for a loaded machine, not timing claims: the listener comes back within about a second
    // (listenerBackoff), and a catch-up the database refused is retried (up to 5 s apart).
    await expect.poll(() => seen.length, { timeout: 30_000 }).toBe(stored.length);
    expect(seen).toEqual(stored);
  });

  it('settles every call while connections are killed under concurrent load, and loses no accepted update', async () => {
    // postgres.js 3.4 left calls pending forever once a backend was killed mid-write (a TypeError thrown
    // from its deferred socket write); each one held a slot of the outage gate until the store hung.
    const schema = await freshSchema();
    const app = uid('busy');
    const store = await open(schema, { applicationName: app, maxConnections: 10, closeTimeoutSeconds: 1 });
    const id = uid('busy');
    await store.create({ id, actors: ['a'], payload: null });
    const accepted: number[] = [];
    const pending = new Set<number>();
    let calls = 0;
    let stop = false;
    const worker = async (kind: number) => {
      while (!stop) {
        const call = calls++;
        pending.add(call);
        try {
          if (kind % 3 === 0) {
            const r = await store.appendProgress(id, { message: `busy ${call}` });
            if (r.outcome === 'applied') accepted.push(r.event.seq);
          } else if (kind % 3 === 1) await store.eventsSince(id, 0, 50);
          else await store.get(id);
        } catch (err) {
          if (!(err instanceof StoreUnavailableError)) throw err;
          await new Promise((r) => setTimeout(r, 20));
        } finally {
          pending.delete(call);
        }
      }
    };
    const workers = Array.from({ length: 15 }, (_, k) => worker(k));
    let killed = 0;
    for (let round = 0; round < 150; round++) {
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 80));
      killed += await terminateOneBackend(app);
    }
    stop = true;
    await waitFor(() => pending.size === 0, 30_000).catch(() => {
      throw new Error(`${pending.size} of ${calls} calls never settled after ${killed} backends were killed`);
    });
    await Promise.all(workers);
    expect(killed).toBeGreaterThan(0);
    await waitFor(() => store.ping(), 15_000);
    const last = await persist(() => store.appendProgress(id, { message: 'after' }));
    expect(last.outcome).toBe('applied');
    const stored = (await store.eventsSince(id, 0, 100_000)).slice(1).map((e) => e.seq);
    // Each accepted update is stored; a write whose answer was lost with its connection may be stored too.
    expect(stored).toEqual(expect.arrayContaining(accepted));
  }, 120_000);

  it('reports down, fails while the database is still down (never waits for it) and clearly, and catches subscriptions up when it returns', async () => {
    const schema = await freshSchema();
    const relay = await startOutageRelay(schema.url);
    relays.push(relay);
    const direct = await open(schema);
    const throughRelay = { connectTimeoutSeconds: 2, closeTimeoutSeconds: 1 };
    const remote = await open({ ...schema, url: relay.url }, throughRelay);
    const lateSubscriber = await open({ ...schema, url: relay.url }, throughRelay);
    const id = uid('outage');
    await direct.create({ id, actors: ['a', 'b'], payload: null });
    const seen: EnvelopeEvent[] = [];
    await remote.subscribe(id, (e) => seen.push(e));
    await direct.appendProgress(id, { actorState: 'received', currentActorIdx: 0 });
    await waitFor(() => seen.length === 1);

    await relay.down();
    expect(await remote.ping()).toBe(false);
    // The relay stays down until relay.up() below, so a call that settles here did not wait for the database.
    const failure = await remote.get(id).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect(errorText(failure)).toMatch(/^envelope store unavailable: /);
    await expect(lateSubscriber.subscribe(id, () => {})).rejects.toBeInstanceOf(StoreUnavailableError);
    // Written while the remote instance cannot hear: its NOTIFYs are gone, the rows are not.
    await direct.appendProgress(id, { actorState: 'processing', currentActorIdx: 0 });
    await direct.appendProgress(id, { actorState: 'completed', currentActorIdx: 1 });

    await relay.up();
    await waitFor(() => remote.ping(), 15_000);
    await waitFor(() => seen.length === 3, 15_000);
    await direct.setFinal(id, { status: 'succeeded' });
    await waitFor(() => seen.length === 4, 15_000);
    expect(seen).toEqual((await direct.eventsSince(id, 0)).slice(1));
    expect(await remote.get(id)).toMatchObject({ status: 'succeeded' });
    const late: EnvelopeEvent[] = [];
    await lateSubscriber.subscribe(id, (e) => late.push(e), { afterSeq: 0 });
    await waitFor(() => late.length === 5);
  });
});
