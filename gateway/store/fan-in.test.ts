/**
 * The fan-in ledger on both stores: exactly one combined envelope per parent (also with arrivals racing and
 * redelivered), results in fan-out order, every policy with a failed child, the timeout for children that
 * never arrive, nested fan-outs level by level, and the parent's own final report after it went on.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { FanInArrival, FanInPolicy } from '../../protocol/fan-in.ts';
import { createTestSchema, type TestSchema } from '../../test/support/postgres.ts';
import { openPgliteStore } from './pglite.ts';
import { openPostgresStore } from './postgres.ts';
import type { EnvelopeStore } from './store.ts';

const ROUTE = ['split', 'score', 'fan-in', 'judge'];

function arrival(parentId: string, payload: unknown, policy: FanInPolicy = 'wait-all', timeoutMs = 60_000): FanInArrival {
  return { parent_id: parentId, actor: 'fan-in', policy, timeout_ms: timeoutMs, route: { actors: ROUTE, current: 3 }, queue: 'asya-judge', payload: payload as FanInArrival['payload'] };
}

async function fanOut(store: EnvelopeStore, count: number, parentId = `p-${randomUUID()}`): Promise<{ parentId: string; ids: string[] }> {
  await store.create({ id: parentId, actors: ROUTE, payload: { doc: 1 }, headers: { trace: 'x' } });
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = `${parentId}-${i}`;
    await store.registerChild({ id, parentId, index: i, fanoutSize: count, actors: ROUTE, routeCurrent: 1 });
    ids.push(id);
  }
  return { parentId, ids };
}

/** Everything due in the fan-in outbox, published (deleted) as the relay would. */
async function drain(store: EnvelopeStore): Promise<Array<{ parentId: string; queue: string; envelope: Record<string, unknown> }>> {
  const out = [];
  for (const m of await store.fanIns.claimOutbox(60_000)) {
    out.push({ parentId: m.parentId, queue: m.queue, envelope: JSON.parse(m.body.toString('utf8')) as Record<string, unknown> });
    await store.fanIns.markPublished(m.parentId);
  }
  return out;
}

function fanInSuite(name: string, open: () => Promise<EnvelopeStore>) {
  describe(`fan-in ledger (${name})`, () => {
    let store: EnvelopeStore;
    const ready = (async () => (store = await open()))();

    it('ten children arriving at once, some twice: one combined envelope, the parent id, results in order', async () => {
      await ready;
      const { parentId, ids } = await fanOut(store, 10);
      const order = [...ids.keys()].sort(() => Math.random() - 0.5);
      const answers = await Promise.all([...order, 3, 7].map((i) => store.fanIns.arrive(ids[i]!, arrival(parentId, { score: i }))));
      expect(answers.filter((a) => a.status === 'emitted')).toHaveLength(1);
      expect(answers.filter((a) => a.status === 'ignored').length).toBeGreaterThanOrEqual(2);
      const out = await drain(store);
      const mine = out.filter((m) => m.parentId === parentId);
      expect(mine).toHaveLength(1);
      expect(mine[0]!.queue).toBe('asya-judge');
      expect(mine[0]!.envelope).toMatchObject({ id: parentId, route: { actors: ROUTE, current: 3 }, headers: { trace: 'x' } });
      expect(mine[0]!.envelope.payload).toEqual(ids.map((_, i) => ({ score: i })));
      expect((await drain(store)).filter((m) => m.parentId === parentId)).toEqual([]);
      // A redelivery after the fan-in completed changes nothing.
      expect(await store.fanIns.arrive(ids[0]!, arrival(parentId, { score: 0 }))).toMatchObject({ status: 'ignored' });
      expect(['pending', 'running']).toContain((await store.get(parentId))?.status);
      for (const id of ids) expect((await store.get(id))?.status).toBe('succeeded');
      // The combined envelope goes on under the parent id; its own final report finishes it plainly.
      expect((await store.setFinal(parentId, { status: 'succeeded', result: { verdict: 'ok' } })).outcome).toBe('applied');
      expect(await store.get(parentId)).toMatchObject({ status: 'succeeded', result: { verdict: 'ok' } });
    });

    it('wait-all: a failed child keeps its place, marked; the last event may be the failure', async () => {
      await ready;
      const { parentId, ids } = await fanOut(store, 3);
      await store.fanIns.arrive(ids[0]!, arrival(parentId, 'a'));
      await store.fanIns.arrive(ids[2]!, arrival(parentId, 'c'));
      await store.setFinal(ids[1]!, { status: 'failed', error: 'processing_error', result: { error: 'processing_error', details: { message: 'bad chunk', type: 'ValueError' }, failed_actor: 'score' } });
      const [combined] = (await drain(store)).filter((m) => m.parentId === parentId);
      expect(combined?.envelope.payload).toEqual([
        'a',
        { fan_in_error: { id: ids[1], index: 1, error: 'processing_error at score: ValueError: bad chunk' } },
        'c',
      ]);
    });

    it('partial: the results that succeeded and an error list', async () => {
      await ready;
      const { parentId, ids } = await fanOut(store, 3);
      await store.setFinal(ids[0]!, { status: 'failed', error: 'timeout' });
      await store.fanIns.arrive(ids[1]!, arrival(parentId, 'b', 'partial'));
      await store.fanIns.arrive(ids[2]!, arrival(parentId, 'c', 'partial'));
      const [combined] = (await drain(store)).filter((m) => m.parentId === parentId);
      expect(combined?.envelope.payload).toEqual({ results: ['b', 'c'], errors: [{ id: ids[0], index: 0, error: 'timeout' }] });
    });

    it('fail-fast: a failed child fails the parent, nothing goes on, later arrivals change nothing', async () => {
      await ready;
      const { parentId, ids } = await fanOut(store, 3);
      await store.fanIns.arrive(ids[0]!, arrival(parentId, 'a', 'fail-fast'));
      await store.setFinal(ids[1]!, { status: 'failed', error: 'processing_error' });
      const parent = await store.get(parentId);
      expect(parent?.status).toBe('failed');
      expect(parent?.error).toBe(`fan-in (fail-fast): child ${ids[1]} failed: processing_error`);
      expect(await store.fanIns.arrive(ids[2]!, arrival(parentId, 'c', 'fail-fast'))).toMatchObject({ status: 'ignored' });
      expect(await store.get(ids[2]!)).toMatchObject({ status: 'failed', error: 'reached fan-in fan-in after it ended (parent is already failed)' });
      expect((await drain(store)).filter((m) => m.parentId === parentId)).toEqual([]);
    });

    it('children that never arrive fail at the timeout and the fan-in goes on without them', async () => {
      await ready;
      const { parentId, ids } = await fanOut(store, 3, `p-${randomUUID()}`);
      await store.fanIns.arrive(ids[1]!, arrival(parentId, 'b', 'wait-all', 1));
      // The timeout is 1 ms from the first arrival; expire() settles it once the database's clock passed it.
      let settled: string[] = [];
      while (!settled.includes(parentId)) settled = await store.fanIns.expire();
      const error = 'did not reach fan-in fan-in within 1 ms';
      expect((await store.get(ids[0]!))).toMatchObject({ status: 'failed', error });
      const [combined] = (await drain(store)).filter((m) => m.parentId === parentId);
      expect(combined?.envelope.payload).toEqual([
        { fan_in_error: { id: ids[0], index: 0, error } },
        'b',
        { fan_in_error: { id: ids[2], index: 2, error } },
      ]);
      // The straggler arrives after all: recorded as late, nothing more is emitted.
      expect(await store.fanIns.arrive(ids[2]!, arrival(parentId, 'c'))).toMatchObject({ status: 'ignored' });
    });

    it('a child that arrives before its registration: registered from its id once the size is known, else asked to come back', async () => {
      await ready;
      const parentId = `p-${randomUUID()}`;
      await store.create({ id: parentId, actors: ROUTE, payload: null });
      expect(await store.fanIns.arrive(`${parentId}-1`, arrival(parentId, 'b'))).toMatchObject({ status: 'not_registered' });
      await store.registerChild({ id: `${parentId}-0`, parentId, index: 0, fanoutSize: 2, actors: ROUTE, routeCurrent: 1 });
      expect(await store.fanIns.arrive(`${parentId}-1`, arrival(parentId, 'b'))).toMatchObject({ status: 'waiting' });
      expect(await store.get(`${parentId}-1`)).toMatchObject({ parentId, fanoutIndex: 1, status: 'succeeded' });
      expect(await store.fanIns.arrive(`${parentId}-7`, arrival(parentId, 'x'))).toMatchObject({ status: 'not_registered' });
      expect(await store.fanIns.arrive(`${parentId}-0`, arrival(parentId, 'a'))).toMatchObject({ status: 'emitted' });
      const [combined] = (await drain(store)).filter((m) => m.parentId === parentId);
      expect(combined?.envelope.payload).toEqual(['a', 'b']);
    });

    it('nested fan-outs fan in level by level', async () => {
      await ready;
      const route = ['split', 'split', 'score', 'fan-in', 'fan-in', 'judge'];
      const root = `n-${randomUUID()}`;
      await store.create({ id: root, actors: route, payload: null });
      for (const i of [0, 1]) {
        await store.registerChild({ id: `${root}-${i}`, parentId: root, index: i, fanoutSize: 2, actors: route, routeCurrent: 1 });
        for (const j of [0, 1]) {
          await store.registerChild({ id: `${root}-${i}-${j}`, parentId: `${root}-${i}`, index: j, fanoutSize: 2, actors: route, routeCurrent: 2 });
        }
      }
      const inner = (parentId: string, payload: unknown): FanInArrival => ({ ...arrival(parentId, payload), route: { actors: route, current: 4 }, queue: 'asya-fan-in' });
      const outer = (payload: unknown): FanInArrival => ({ ...arrival(root, payload), route: { actors: route, current: 5 }, queue: 'asya-judge' });
      for (const i of [0, 1]) for (const j of [0, 1]) await store.fanIns.arrive(`${root}-${i}-${j}`, inner(`${root}-${i}`, `${i}.${j}`));
      const innerOut = (await drain(store)).filter((m) => m.parentId.startsWith(root));
      expect(innerOut.map((m) => [m.envelope.id, m.envelope.parent_id, m.envelope.payload, m.queue]).sort()).toEqual([
        [`${root}-0`, root, ['0.0', '0.1'], 'asya-fan-in'],
        [`${root}-1`, root, ['1.0', '1.1'], 'asya-fan-in'],
      ]);
      expect(['pending', 'running']).toContain((await store.get(root))?.status);
      for (const m of innerOut) await store.fanIns.arrive(String(m.envelope.id), outer(m.envelope.payload));
      const [top] = (await drain(store)).filter((m) => m.parentId === root);
      expect(top?.envelope).toMatchObject({ id: root, payload: [['0.0', '0.1'], ['1.0', '1.1']], route: { current: 5 } });
      expect(top?.envelope.parent_id).toBeUndefined();
    });
  });
}

const schemas: TestSchema[] = [];
const stores: EnvelopeStore[] = [];
afterAll(async () => {
  await Promise.allSettled(stores.map((s) => s.close()));
  for (const s of schemas) await s.drop();
});

fanInSuite('pglite', async () => {
  const store = await openPgliteStore();
  stores.push(store);
  return store;
});
fanInSuite('postgres', async () => {
  const schema = await createTestSchema('asya_fanin');
  schemas.push(schema);
  const store = await openPostgresStore({ url: schema.url, schema: schema.name });
  stores.push(store);
  return store;
});
