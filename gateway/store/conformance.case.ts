/**
 * The one suite every EnvelopeStore passes (postgres.test.ts, pglite.test.ts). Tests share one store per
 * file and keep apart by unique ids and tool names, so the suite is as fast as one database boot.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonValue } from '../../protocol/json.ts';
import {
  DuplicateEnvelopeError,
  InvalidEnvelopeInputError,
  StoreUnavailableError,
  type ActorState,
  type EnvelopeEvent,
  type EnvelopeStore,
} from './store.ts';
import { outboxConformance } from './outbox.case.ts';
import { idempotencyConformance } from './idempotency.case.ts';
import { pauseConformance } from './pause.case.ts';

export interface ConformanceTarget {
  /** A store on a fresh, empty database. Called once per file. */
  open(): Promise<EnvelopeStore>;
  /** Another instance on the same database, standing in for a second replica; absent for PGlite. */
  openPeer?(): Promise<EnvelopeStore>;
  /** A store of its own that the suite may close. */
  openThrowaway(): Promise<EnvelopeStore>;
}

let counter = 0;
export const uid = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++counter}`;

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Drives one envelope through a route the way sidecars report it. */
export async function walkRoute(store: EnvelopeStore, id: string, actors: string[]): Promise<number[]> {
  const seen: number[] = [];
  for (let i = 0; i < actors.length; i++) {
    for (const [state, idx] of [['received', i], ['processing', i], ['completed', i + 1]] as Array<[ActorState, number]>) {
      const r = await store.appendProgress(id, { actorState: state, currentActorIdx: idx, message: `${state} ${i}` });
      if (r.outcome !== 'applied') throw new Error(`progress was ${r.outcome}`);
      seen.push(r.envelope.progressPercent);
    }
  }
  return seen;
}

export function storeConformance(name: string, target: ConformanceTarget): void {
  describe(`${name}: EnvelopeStore conformance`, () => {
    let store: EnvelopeStore;
    let peer: EnvelopeStore;
    beforeAll(async () => {
      store = await target.open();
      peer = target.openPeer ? await target.openPeer() : store;
    });
    afterAll(async () => {
      if (peer !== store) await peer?.close();
      await store?.close();
    });

    it('creates and reads back an envelope with every field', async () => {
      const id = uid('create');
      const deadline = new Date(Date.now() + 60_000);
      const created = await store.create({
        id, actors: ['a', 'b'], payload: { q: 'hi', n: [1, 2.5, null] }, toolName: 'echo', routeMetadata: { job_id: id },
        headers: { traceparent: '00-abc-def-01' }, timeoutSeconds: 60, deadline,
      });
      expect(created).toMatchObject({ id, status: 'pending', progressPercent: 0, totalActors: 2, currentActorName: 'a', version: 1 });
      const got = await store.get(id);
      expect(got).toEqual(created);
      expect(got?.deadline?.getTime()).toBe(deadline.getTime());
      expect(got?.headers).toEqual({ traceparent: '00-abc-def-01' });
      const events = await store.eventsSince(id, 0);
      expect(events.map((e) => e.status)).toEqual(['pending']);
      await expect(store.create({ id, actors: ['a'], payload: null })).rejects.toBeInstanceOf(DuplicateEnvelopeError);
    });

    it('answers summaries of the envelopes asked for, and leaves unknown ones out', async () => {
      const root = uid('summary');
      const child = uid('summary-child');
      const created = await store.create({ id: root, actors: ['a'], payload: { big: 'x'.repeat(1000) }, toolName: 'echo', owner: 'alice' });
      await store.registerChild({ id: child, parentId: root, index: 1, actors: ['a'] });
      const found = await store.summaries([root, child, uid('summary-missing')]);
      expect(found.sort((x, y) => x.id.localeCompare(y.id))).toEqual(
        [
          { id: root, owner: 'alice', toolName: 'echo', parentId: null, createdAt: created.createdAt },
          { id: child, owner: 'alice', toolName: null, parentId: root, createdAt: expect.any(Date) },
        ].sort((x, y) => x.id.localeCompare(y.id)),
      );
      expect(await store.summaries([])).toEqual([]);
    });

    it('answers not_found for unknown ids without writing anything', async () => {
      const id = uid('missing');
      expect(await store.get(id)).toBeUndefined();
      expect(await store.appendProgress(id, { actorState: 'received' })).toEqual({ outcome: 'not_found', id });
      expect(await store.setFinal(id, { status: 'succeeded' })).toEqual({ outcome: 'not_found', id });
      expect(await store.cancel(id)).toEqual({ outcome: 'not_found', id });
      expect(await store.registerChild({ id: uid('c'), parentId: id, index: 0, actors: ['a'] })).toEqual({ outcome: 'not_found', id });
      expect(await store.eventsSince(id, 0)).toEqual([]);
    });

    it('lists newest first with filters and cursor paging', async () => {
      const tool = uid('tool');
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        ids.push((await store.create({ id: uid('list'), actors: ['a'], payload: i, toolName: tool })).id);
        await new Promise((r) => setTimeout(r, 3));
      }
      await store.setFinal(ids[1] as string, { status: 'succeeded' });
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.list({ toolName: tool, limit: 2, cursor });
        expect(page.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.items.map((e) => e.id));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toEqual([...ids].reverse());
      expect((await store.list({ toolName: tool, status: 'succeeded' })).items.map((e) => e.id)).toEqual([ids[1]]);
      expect((await store.list({ toolName: tool, status: ['pending', 'running'] })).items).toHaveLength(4);
      const all = (await store.list({ toolName: tool })).items;
      const middle = all[2]?.createdAt as Date;
      const older = await store.list({ toolName: tool, createdTo: middle });
      const newer = await store.list({ toolName: tool, createdFrom: middle });
      expect(older.items.length + newer.items.length).toBe(5);
      expect(newer.items.every((e) => e.createdAt >= middle)).toBe(true);
      expect(await store.list({ toolName: uid('none') })).toEqual({ items: [] });
      await expect(store.list({ cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(InvalidEnvelopeInputError);
    });

    it('answers creates that arrive together one by one: a refused or repeated one fails only itself', async () => {
      const [a, b, c] = [uid('together'), uid('together'), uid('together')];
      const settled = await Promise.allSettled([
        store.create({ id: a, actors: ['x', 'y'], payload: { n: 1 }, toolName: 'together' }),
        // Passes the store's own checks; the database refuses the year.
        store.create({ id: uid('together'), actors: ['x'], payload: null, deadline: new Date(-8.64e15) }),
        store.create({ id: b, actors: ['x'], payload: null, headers: { traceparent: 't' } }),
      ]);
      expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(await store.get(a)).toMatchObject({ id: a, routeActors: ['x', 'y'], payload: { n: 1 }, toolName: 'together', headers: null });
      expect(await store.get(b)).toMatchObject({ id: b, payload: null, toolName: null, headers: { traceparent: 't' } });
      for (const id of [a, b]) expect((await store.eventsSince(id, 0)).map((e) => e.message)).toEqual(['Envelope created']);

      const twice = await Promise.allSettled([a, c, c].map((id) => store.create({ id, actors: ['x'], payload: null })));
      expect(twice.map((s) => s.status).sort()).toEqual(['fulfilled', 'rejected', 'rejected']);
      for (const s of twice) if (s.status === 'rejected') expect(s.reason).toBeInstanceOf(DuplicateEnvelopeError);
      expect(await store.eventsSince(c, 0)).toHaveLength(1);
    });

    it('pages through envelopes created at the same time without skipping or repeating one', async () => {
      const tool = uid('burst');
      const ids = Array.from({ length: 60 }, () => uid('burst'));
      await Promise.all(ids.map((id) => store.create({ id, actors: ['a'], payload: null, toolName: tool })));
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.list({ toolName: tool, limit: 7, cursor });
        seen.push(...page.items.map((e) => e.id));
        cursor = page.nextCursor;
      } while (cursor);
      expect([...seen].sort()).toEqual([...ids].sort());
    });

    it.each([
      [1, [10, 50, 99]],
      [2, [5, 25, 50, 55, 75, 99]],
      [3, [3.33, 16.67, 33.33, 36.67, 50, 66.67, 70, 83.33, 99]],
    ])('progress on a %i-actor route never overshoots and hits 100 only on success', async (n, expected) => {
      const id = uid('progress');
      const actors = Array.from({ length: n }, (_, i) => `actor${i}`);
      await store.create({ id, actors, payload: null });
      expect(await walkRoute(store, id, actors)).toEqual(expected);
      const final = await store.setFinal(id, { status: 'succeeded', result: { ok: true } });
      expect(final).toMatchObject({ outcome: 'applied', envelope: { status: 'succeeded', progressPercent: 100, result: { ok: true } } });
    });

    it('ignores late progress and a second final once final', async () => {
      const id = uid('guard');
      await store.create({ id, actors: ['a', 'b'], payload: null });
      await store.appendProgress(id, { actorState: 'processing', currentActorIdx: 1 });
      const failed = await store.setFinal(id, { status: 'failed', error: 'boom' });
      expect(failed).toMatchObject({ outcome: 'applied', envelope: { status: 'failed', error: 'boom', progressPercent: 75, message: 'Envelope failed: boom' } });
      const before = await store.get(id);
      const eventsBefore = await store.eventsSince(id, 0);
      expect(await store.appendProgress(id, { actorState: 'completed', currentActorIdx: 2 })).toMatchObject({ outcome: 'ignored' });
      expect(await store.setFinal(id, { status: 'succeeded', result: 'late' })).toMatchObject({ outcome: 'ignored', envelope: { status: 'failed' } });
      expect(await store.cancel(id)).toMatchObject({ outcome: 'ignored' });
      expect(await store.get(id)).toEqual(before);
      expect(await store.eventsSince(id, 0)).toEqual(eventsBefore);
    });

    it('keeps progress monotonic under out-of-order reports and records each report', async () => {
      const id = uid('mono');
      await store.create({ id, actors: ['a', 'b'], payload: null });
      await store.appendProgress(id, { actorState: 'completed', currentActorIdx: 1 });
      const late = await store.appendProgress(id, { actorState: 'received', currentActorIdx: 0 });
      expect(late).toMatchObject({ outcome: 'applied', envelope: { progressPercent: 50, currentActorIdx: 1, currentActorName: 'b' } });
      const past = await store.appendProgress(id, { actorState: 'received', currentActorIdx: 9 });
      expect(past).toMatchObject({ envelope: { progressPercent: 99 } });
      const extended = await store.appendProgress(id, { actorState: 'completed', currentActorIdx: 2, actors: ['a', 'b', 'c', 'd'] });
      expect(extended).toMatchObject({ envelope: { progressPercent: 99, totalActors: 4, routeActors: ['a', 'b', 'c', 'd'] } });
      expect((await store.eventsSince(id, 0)).map((e) => e.envelopeState)).toEqual([null, 'completed', 'received', 'received', 'completed']);
    });

    it('answers progress reports that arrive together each on its own, in arrival order per envelope, across instances', async () => {
      // Sent in one turn, so they share batches (batched-progress.ts); the peer's batches cross this one's ids.
      const ids = Array.from({ length: 12 }, () => uid('batch'));
      for (const id of ids) await store.create({ id, actors: ['a', 'b'], payload: null });
      const done = uid('batch-done');
      await store.create({ id: done, actors: ['a'], payload: null });
      await store.setFinal(done, { status: 'succeeded' });
      const missing = uid('batch-missing');
      const reports = ids.flatMap((id, i) => {
        const via = i % 2 === 0 ? store : peer;
        return (['received', 'processing', 'completed'] as ActorState[]).map((state, k) =>
          via.appendProgress(id, { actorState: state, currentActorIdx: k === 2 ? 1 : 0, message: `${state} ${id}` }));
      });
      const others = [store.appendProgress(done, { actorState: 'received', currentActorIdx: 0 }), peer.appendProgress(missing, { actorState: 'received' })];
      const answers = await Promise.all(reports);
      expect(answers.map((r) => r.outcome)).toEqual(reports.map(() => 'applied'));
      const [late, unknown] = await Promise.all(others);
      expect(late).toMatchObject({ outcome: 'ignored', envelope: { status: 'succeeded' } });
      expect(unknown).toEqual({ outcome: 'not_found', id: missing });
      // The same three reports one at a time give the state each batched envelope must have.
      const one = uid('batch-one');
      await store.create({ id: one, actors: ['a', 'b'], payload: null });
      for (const [state, idx] of [['received', 0], ['processing', 0], ['completed', 1]] as Array<[ActorState, number]>) {
        await store.appendProgress(one, { actorState: state, currentActorIdx: idx });
      }
      const expected = await store.get(one);
      for (const id of ids) {
        const events = await store.eventsSince(id, 0);
        expect(events.map((e) => e.envelopeState)).toEqual([null, 'received', 'processing', 'completed']);
        expect(events.at(-1)?.message).toBe(`completed ${id}`);
        expect(await store.get(id)).toMatchObject({ status: 'running', currentActorIdx: 1, progressPercent: expected?.progressPercent });
      }
    });

    it('replays events after a sequence number, per envelope and across envelopes', async () => {
      const a = uid('replay');
      const b = uid('replay');
      await store.create({ id: a, actors: ['x'], payload: null });
      await store.create({ id: b, actors: ['x'], payload: null });
      await store.appendProgress(a, { actorState: 'received', currentActorIdx: 0, message: 'Received message (0.01 KB)' });
      await store.appendProgress(b, { actorState: 'received', currentActorIdx: 0 });
      await store.setFinal(a, { status: 'succeeded', result: 42 });
      const all = await store.eventsSince(a, 0);
      expect(all.map((e) => e.status)).toEqual(['pending', 'running', 'succeeded']);
      expect(all[1]).toMatchObject({ actor: 'x', envelopeState: 'received', progressPercent: 10, message: 'Received message (0.01 KB)' });
      expect(all[2]).toMatchObject({ result: 42, progressPercent: 100 });
      const seqs = all.map((e) => e.seq);
      expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
      expect(await store.eventsSince(a, seqs[0] as number)).toEqual(all.slice(1));
      const global = await store.eventsSince(undefined, seqs[0] as number);
      expect(global.map((e) => e.envelopeId)).toEqual(expect.arrayContaining([a, b]));
      expect(await store.eventsSince(a, 0, 1)).toHaveLength(1);
    });

    it('delivers live updates in order, across instances, and replays from a sequence without gaps', async () => {
      const id = uid('live');
      await store.create({ id, actors: ['a', 'b'], payload: null });
      const live: EnvelopeEvent[] = [];
      const replayed: EnvelopeEvent[] = [];
      const everything: EnvelopeEvent[] = [];
      const subs = [
        await peer.subscribe(id, (e) => live.push(e)),
        await peer.subscribe(id, (e) => replayed.push(e), { afterSeq: 0 }),
        await peer.subscribe(undefined, (e) => everything.push(e)),
      ];
      await walkRoute(store, id, ['a', 'b']);
      await store.setFinal(id, { status: 'succeeded' });
      const stored = await store.eventsSince(id, 0);
      await waitFor(() => replayed.length === stored.length && live.length === stored.length - 1);
      expect(replayed).toEqual(stored);
      expect(live).toEqual(stored.slice(1));
      await waitFor(() => everything.filter((e) => e.envelopeId === id).length === stored.length - 1);
      for (const s of subs) await s.close();
    });

    it('follows one envelope: its head and replay in one read, then live updates; nothing for an unknown id', async () => {
      const id = uid('follow');
      await store.create({ id, actors: ['a', 'b'], payload: { big: 'x'.repeat(1000) }, owner: 'team-a' });
      await store.appendProgress(id, { actorState: 'received', currentActorIdx: 0 });
      const stored = await store.eventsSince(id, 0);
      const all: EnvelopeEvent[] = [];
      const followed = await peer.follow(id, (e) => all.push(e));
      expect(followed.head).toEqual({ status: 'running', owner: 'team-a' });
      // The replay is delivered before follow resolves.
      expect(all).toEqual(stored);
      const fromSecond: EnvelopeEvent[] = [];
      const second = await peer.follow(id, (e) => fromSecond.push(e), { afterSeq: stored[0]?.seq });
      expect(fromSecond).toEqual(stored.slice(1));
      // Past every event: the head alone.
      const none: EnvelopeEvent[] = [];
      const past = await peer.follow(id, (e) => none.push(e), { afterSeq: stored.at(-1)?.seq });
      expect(past.head?.status).toBe('running');
      expect(none).toEqual([]);
      await store.setFinal(id, { status: 'succeeded' });
      const final = (await store.eventsSince(id, 0)).at(-1);
      await waitFor(() => all.length === stored.length + 1 && fromSecond.length === stored.length && none.length === 1);
      expect([all.at(-1), fromSecond.at(-1), none[0]]).toEqual([final, final, final]);
      for (const f of [followed, second, past]) await f.subscription?.close();

      const unknown: EnvelopeEvent[] = [];
      expect(await peer.follow(uid('nobody'), (e) => unknown.push(e))).toEqual({ head: undefined, subscription: undefined });
      expect(unknown).toEqual([]);
      await expect(peer.follow(id, () => {}, { afterSeq: -1 })).rejects.toBeInstanceOf(InvalidEnvelopeInputError);
    });

    it('finishes a fan-out parent only after all children, results in child order', async () => {
      const parent = uid('fan');
      await store.create({ id: parent, actors: ['split', 'work'], payload: null, headers: { traceparent: 't' } });
      const kids = [0, 1, 2].map((i) => `${parent}/child-${i}`);
      for (const [i, id] of kids.entries()) {
        const r = await store.registerChild({ id, parentId: parent, index: i, fanoutSize: 3, actors: ['split', 'work'], routeCurrent: 1 });
        expect(r).toMatchObject({ outcome: 'applied', envelope: { parentId: parent, fanoutIndex: i, headers: { traceparent: 't' } } });
      }
      await store.setFinal(kids[2] as string, { status: 'succeeded', result: 'two' });
      await store.setFinal(kids[0] as string, { status: 'succeeded', result: 'zero' });
      expect((await store.get(parent))?.status).toBe('pending');
      await store.setFinal(kids[1] as string, { status: 'succeeded', result: 'one' });
      expect(await store.get(parent)).toMatchObject({ status: 'succeeded', result: ['zero', 'one', 'two'], progressPercent: 100 });
      expect((await store.list({ parentId: parent })).items).toHaveLength(3);
    });

    it('answers finals that arrive together each on its own: plain, repeated, missing, already final, fan-out parent and children', async () => {
      const plain = [0, 1, 2, 3, 4].map((i) => uid(`together-${i}`));
      const done = uid('together-done');
      const parent = uid('together-parent');
      const kids = [0, 1].map((i) => `${parent}/child-${i}`);
      for (const id of [...plain, done, parent]) await store.create({ id, actors: ['a'], payload: null });
      await store.setFinal(done, { status: 'failed', error: 'earlier' });
      for (const [i, id] of kids.entries()) await store.registerChild({ id, parentId: parent, index: i, fanoutSize: 2, actors: ['a'], routeCurrent: 0 });
      const everything: EnvelopeEvent[] = [];
      const sub = await peer.subscribe(undefined, (e) => everything.push(e));
      const results: JsonValue[] = [{ n: 0 }, 'text with a NUL \u0000 inside', [1, 2, 3], null];
      // One turn of the event loop: the store may write these in one batch, and must answer each as if alone.
      const answers = await Promise.all([
        ...results.map((result, i) => store.setFinal(plain[i]!, { status: 'succeeded', result })),
        store.setFinal(plain[4]!, { status: 'failed', error: 'broke' }),
        store.setFinal(uid('together-missing'), { status: 'succeeded' }),
        store.setFinal(done, { status: 'succeeded' }),
        store.setFinal(parent, { status: 'succeeded', result: 'own' }),
        store.setFinal(kids[0]!, { status: 'succeeded', result: 'zero' }),
      ]);
      results.forEach((result, i) => {
        expect(answers[i]).toMatchObject({ outcome: 'applied', envelope: { id: plain[i], status: 'succeeded', progressPercent: 100, result, message: 'Envelope completed successfully' } });
        expect(answers[i]).toMatchObject({ event: { envelopeId: plain[i], status: 'succeeded', result } });
      });
      expect(answers[4]).toMatchObject({ outcome: 'applied', envelope: { status: 'failed', error: 'broke', message: 'Envelope failed: broke' }, event: { error: 'broke' } });
      expect(answers[5]).toMatchObject({ outcome: 'not_found' });
      expect(answers[6]).toMatchObject({ outcome: 'ignored', reason: 'envelope is already failed' });
      expect(answers[7]).toMatchObject({ outcome: 'deferred', envelope: { status: 'pending' } });
      expect(answers[8]).toMatchObject({ outcome: 'applied', envelope: { status: 'succeeded', result: 'zero' } });
      // One envelope twice together: one final applies, the other is ignored, and the row is the applied one's.
      const twice = await Promise.all([store.setFinal(plain[0]!, { status: 'failed', error: 'too late' }), store.setFinal(plain[0]!, { status: 'succeeded' })]);
      expect(twice.map((a) => a.outcome)).toEqual(['ignored', 'ignored']);
      const repeated = uid('together-repeated');
      await store.create({ id: repeated, actors: ['a'], payload: null });
      const both = await Promise.all([store.setFinal(repeated, { status: 'failed', error: 'first' }), store.setFinal(repeated, { status: 'succeeded' })]);
      expect(both.map((a) => a.outcome).sort()).toEqual(['applied', 'ignored']);
      expect((await store.get(repeated))?.status).toBe(both[0]!.outcome === 'applied' ? 'failed' : 'succeeded');
      expect(await store.setFinal(kids[1]!, { status: 'succeeded', result: 'one' })).toMatchObject({ outcome: 'applied' });
      expect(await store.get(parent)).toMatchObject({ status: 'succeeded', result: ['own', 'zero', 'one'] });
      for (const [i, result] of results.entries()) expect(await store.get(plain[i]!)).toMatchObject({ status: 'succeeded', result });
      // Every applied final was NOTIFYed, once.
      const finalsSeen = () => everything.filter((e) => [...plain, ...kids, parent].includes(e.envelopeId) && (e.status === 'succeeded' || e.status === 'failed'));
      await waitFor(() => finalsSeen().length === plain.length + kids.length + 1);
      expect(new Set(finalsSeen().map((e) => e.envelopeId)).size).toBe(plain.length + kids.length + 1);
      await sub.close();
    });

    it("waits for the parent's own branch under the original id scheme and fails on a child failure", async () => {
      const parent = uid('fanorig');
      await store.create({ id: parent, actors: ['a'], payload: null });
      for (const i of [1, 2]) await store.registerChild({ id: `${parent}-${i}`, parentId: parent, index: i, actors: ['a'], routeCurrent: 1 });
      await store.setFinal(`${parent}-1`, { status: 'failed', error: 'bad input' });
      const own = await store.setFinal(parent, { status: 'succeeded', result: 'own' });
      expect(own).toMatchObject({ outcome: 'deferred', envelope: { status: 'pending' } });
      expect(await store.appendProgress(parent, { actorState: 'received', currentActorIdx: 0 })).toMatchObject({ outcome: 'ignored' });
      await store.setFinal(`${parent}-2`, { status: 'succeeded', result: 'two' });
      expect(await store.get(parent)).toMatchObject({
        status: 'failed',
        error: `1 of 3 fan-out branches failed: ${parent}-1: bad input`,
        result: [
          { id: parent, status: 'succeeded', result: 'own' },
          { id: `${parent}-1`, status: 'failed', error: 'bad input' },
          { id: `${parent}-2`, status: 'succeeded', result: 'two' },
        ],
      });
    });

    it('settles nested fan-out upward', async () => {
      const root = uid('nest');
      await store.create({ id: root, actors: ['a'], payload: null });
      await store.registerChild({ id: `${root}.0`, parentId: root, index: 0, fanoutSize: 1, actors: ['a'] });
      await store.registerChild({ id: `${root}.0.0`, parentId: `${root}.0`, index: 0, fanoutSize: 2, actors: ['a'] });
      await store.registerChild({ id: `${root}.0.1`, parentId: `${root}.0`, index: 1, fanoutSize: 2, actors: ['a'] });
      await store.setFinal(`${root}.0.0`, { status: 'succeeded', result: 1 });
      expect((await store.get(root))?.status).toBe('pending');
      await store.setFinal(`${root}.0.1`, { status: 'succeeded', result: 2 });
      expect(await store.get(root)).toMatchObject({ status: 'succeeded', result: [[1, 2]] });
    });

    it('links a child whose own progress arrived before its registration, and settles the parent then', async () => {
      const parent = uid('late');
      await store.create({ id: parent, actors: ['split', 'work'], payload: null, headers: { traceparent: 't' } });
      const [early, fast] = [`${parent}-0`, `${parent}-1`];
      // The children's first reports create them as top-level envelopes: the registrations are still queued.
      for (const id of [early, fast]) {
        await store.create({ id, actors: ['split', 'work'], payload: null, routeCurrent: 1 });
        await store.appendProgress(id, { actorState: 'received', currentActorIdx: 1 });
      }
      await store.setFinal(fast, { status: 'succeeded', result: 'one' });
      expect(await store.registerChild({ id: early, parentId: parent, index: 0, fanoutSize: 2, actors: ['split', 'work'] })).toMatchObject({
        outcome: 'applied', envelope: { id: early, parentId: parent, fanoutIndex: 0, status: 'running', headers: { traceparent: 't' } },
      });
      expect((await store.get(parent))?.status).toBe('pending');
      expect(await store.registerChild({ id: early, parentId: parent, index: 0, fanoutSize: 2, actors: ['split', 'work'] })).toMatchObject({
        outcome: 'ignored',
      });
      await store.setFinal(early, { status: 'succeeded', result: 'zero' });
      expect((await store.get(parent))?.status).toBe('pending');
      // Linking a child that is already final is what completes the fan-out.
      expect(await store.registerChild({ id: fast, parentId: parent, index: 1, fanoutSize: 2, actors: ['split', 'work'] })).toMatchObject({
        outcome: 'applied', envelope: { status: 'succeeded' },
      });
      expect(await store.get(parent)).toMatchObject({ status: 'succeeded', result: ['zero', 'one'] });
      expect((await store.list({ parentId: parent })).items).toHaveLength(2);
      expect((await store.list({ rootsOnly: true, limit: 500 })).items.map((e) => e.id)).toContain(parent);
      expect((await store.list({ rootsOnly: true, limit: 500 })).items.map((e) => e.id)).not.toContain(early);
      const other = uid('other');
      await store.create({ id: other, actors: ['a'], payload: null });
      await expect(store.registerChild({ id: early, parentId: other, index: 0, actors: ['a'] })).rejects.toBeInstanceOf(InvalidEnvelopeInputError);
      await expect(store.registerChild({ id: parent, parentId: early, index: 0, actors: ['a'] })).rejects.toBeInstanceOf(InvalidEnvelopeInputError);
      await expect(store.registerChild({ id: other, parentId: other, index: 0, actors: ['a'] })).rejects.toBeInstanceOf(InvalidEnvelopeInputError);
    });

    it('reopens a failed envelope for a replay, once, and refuses every other state', async () => {
      const id = uid('reopen');
      await store.create({ id, actors: ['a', 'b'], payload: null, deadline: new Date(Date.now() - 1000), timeoutSeconds: 5 });
      await store.appendProgress(id, { actorState: 'processing', currentActorIdx: 1 });
      await store.setFinal(id, { status: 'failed', error: 'boom', result: { error: 'boom' } });
      const reopened = await store.reopen(id, { reason: 'asya dlq replay' });
      expect(reopened).toMatchObject({
        outcome: 'applied',
        envelope: { status: 'running', progressPercent: 75, error: null, result: null, deadline: null, message: 'Envelope replayed: asya dlq replay' },
        event: { status: 'running', envelopeState: 'replayed', message: 'Envelope replayed: asya dlq replay', progressPercent: 75 },
      });
      // The deadline was cleared: the sweep leaves it alone. Reports apply again, and only one final.
      expect(await store.failOverdue(new Date(), 1000)).not.toContain(id);
      expect(await store.reopen(id)).toMatchObject({ outcome: 'refused', reason: 'envelope is running, not failed', envelope: { status: 'running' } });
      expect(await store.appendProgress(id, { actorState: 'completed', currentActorIdx: 2 })).toMatchObject({ outcome: 'applied', envelope: { progressPercent: 99 } });
      expect(await store.setFinal(id, { status: 'succeeded', result: 'fixed' })).toMatchObject({ outcome: 'applied', envelope: { status: 'succeeded', result: 'fixed', progressPercent: 100 } });
      expect(await store.setFinal(id, { status: 'failed', error: 'late' })).toMatchObject({ outcome: 'ignored' });
      expect(await store.reopen(id)).toMatchObject({ outcome: 'refused', reason: 'envelope is succeeded, not failed' });
      const events = await store.eventsSince(id, 0);
      expect(events.map((e) => [e.status, e.envelopeState])).toEqual([
        ['pending', null], ['running', 'processing'], ['failed', null], ['running', 'replayed'], ['running', 'completed'], ['succeeded', null],
      ]);

      const fresh = uid('reopen');
      await store.create({ id: fresh, actors: ['a'], payload: null });
      expect(await store.reopen(fresh)).toMatchObject({ outcome: 'refused', reason: 'envelope is pending, not failed' });
      await store.cancel(fresh);
      expect(await store.reopen(fresh)).toMatchObject({ outcome: 'refused', reason: 'envelope was cancelled' });
      expect(await store.reopen(uid('missing'))).toEqual({ outcome: 'not_found', id: expect.any(String) });

      const rearmed = uid('reopen');
      await store.create({ id: rearmed, actors: ['a'], payload: null });
      await store.setFinal(rearmed, { status: 'failed', error: 'x' });
      const before = Date.now();
      const armed = await store.reopen(rearmed, { timeoutSeconds: 60 });
      expect(armed).toMatchObject({ outcome: 'applied', envelope: { timeoutSeconds: 60, message: 'Envelope replayed' } });
      const deadline = armed.outcome === 'applied' ? armed.envelope.deadline!.getTime() : 0;
      expect(deadline).toBeGreaterThan(before + 50_000);
      expect(deadline).toBeLessThan(before + 70_000);
    });

    it('reopens the failed fan-out ancestors of a replayed branch, which settle again when it finishes', async () => {
      const root = uid('refan');
      await store.create({ id: root, actors: ['a'], payload: null });
      await store.registerChild({ id: `${root}-0`, parentId: root, index: 0, fanoutSize: 2, actors: ['a'] });
      await store.registerChild({ id: `${root}-1`, parentId: root, index: 1, fanoutSize: 2, actors: ['a'] });
      await store.registerChild({ id: `${root}-1-0`, parentId: `${root}-1`, index: 0, fanoutSize: 1, actors: ['a'] });
      await store.setFinal(`${root}-0`, { status: 'succeeded', result: 'zero' });
      await store.setFinal(`${root}-1-0`, { status: 'failed', error: 'bad' });
      expect(await store.get(root)).toMatchObject({ status: 'failed' });
      expect(await store.reopen(`${root}-1-0`)).toMatchObject({ outcome: 'applied' });
      for (const id of [root, `${root}-1`]) {
        expect(await store.get(id)).toMatchObject({ status: 'running', error: null, result: null });
        expect((await store.eventsSince(id, 0)).at(-1)).toMatchObject({ envelopeState: 'replayed', message: `Envelope replayed: fan-out branch ${root}-1-0 was replayed` });
      }
      expect(await store.get(`${root}-0`)).toMatchObject({ status: 'succeeded' });
      await store.setFinal(`${root}-1-0`, { status: 'succeeded', result: 'one' });
      expect(await store.get(root)).toMatchObject({ status: 'succeeded', result: ['zero', ['one']] });
    });

    it('cancels an envelope and its unfinished children', async () => {
      const parent = uid('cancel');
      await store.create({ id: parent, actors: ['a'], payload: null });
      await store.registerChild({ id: `${parent}-0`, parentId: parent, index: 0, actors: ['a'] });
      await store.registerChild({ id: `${parent}-1`, parentId: parent, index: 1, actors: ['a'] });
      await store.setFinal(`${parent}-0`, { status: 'succeeded' });
      expect(await store.cancel(parent, 'user asked')).toMatchObject({
        outcome: 'applied', envelope: { status: 'failed', cancelled: true, error: 'envelope cancelled: user asked' },
      });
      expect(await store.get(`${parent}-1`)).toMatchObject({ status: 'failed', cancelled: true });
      expect(await store.get(`${parent}-0`)).toMatchObject({ status: 'succeeded', cancelled: false });
    });

    it('fails overdue envelopes exactly once even when two instances sweep at once', async () => {
      const past = new Date(Date.now() - 1000);
      const ids = Array.from({ length: 12 }, () => uid('overdue'));
      for (const id of ids) await store.create({ id, actors: ['a'], payload: null, deadline: past });
      const future = uid('future');
      await store.create({ id: future, actors: ['a'], payload: null, deadline: new Date(Date.now() + 3_600_000) });
      const done = uid('done');
      await store.create({ id: done, actors: ['a'], payload: null, deadline: past });
      await store.setFinal(done, { status: 'succeeded' });
      const [a, b] = await Promise.all([store.failOverdue(), peer.failOverdue()]);
      expect([...(a ?? []), ...(b ?? [])].sort()).toEqual([...ids].sort());
      expect(await store.failOverdue()).toEqual([]);
      for (const id of ids) {
        expect(await store.get(id)).toMatchObject({ status: 'failed', error: 'envelope timed out' });
        expect((await store.eventsSince(id, 0)).filter((e) => e.error === 'envelope timed out')).toHaveLength(1);
      }
      expect((await store.get(future))?.status).toBe('pending');
      expect((await store.get(done))?.status).toBe('succeeded');
    });

    it('deletes final envelopes and their events past retention, nothing else', async () => {
      const old = uid('old');
      const running = uid('running');
      await store.create({ id: old, actors: ['a'], payload: null });
      await store.create({ id: running, actors: ['a'], payload: null });
      await store.setFinal(old, { status: 'succeeded' });
      expect(await store.deleteOlderThan(new Date(Date.now() - 3_600_000))).toBe(0);
      expect(await store.deleteOlderThan(new Date(Date.now() + 1000))).toBeGreaterThanOrEqual(1);
      expect(await store.get(old)).toBeUndefined();
      expect(await store.eventsSince(old, 0)).toEqual([]);
      expect(await store.get(running)).toBeDefined();
    });

    it('stores a huge payload and odd ids intact', async () => {
      const big: JsonValue = { text: 'x'.repeat(3_000_000), list: Array.from({ length: 20_000 }, (_, i) => ({ i, s: `é${i}` })) };
      const id = uid('big');
      await store.create({ id, actors: ['a'], payload: big });
      expect((await store.get(id))?.payload).toEqual(big);
      await store.setFinal(id, { status: 'succeeded', result: big });
      expect((await store.get(id))?.result).toEqual(big);
      const odd = [
        "it's \"quoted\"", 'spaces and\ttabs', 'slash/and\\back', '💥 émoji ☃', "'; drop table envelopes; --", '%_like', 'a'.repeat(512),
      ];
      for (const id of odd) {
        await store.create({ id, actors: ['a'], payload: id });
        expect((await store.get(id))?.payload).toBe(id);
        expect(await store.appendProgress(id, { actorState: 'received', currentActorIdx: 0 })).toMatchObject({ outcome: 'applied' });
      }
    });

    it('stores results jsonb cannot hold (NUL, lone surrogates) and gives them back as sent, through fan-out too', async () => {
      const odd: JsonValue = { 'k\u0000': ['a\u0000b', '\ud800', { '\udfff': '\ud83d\ude00' }] };
      const parent = uid('odd');
      await store.create({ id: parent, actors: ['split'], payload: null });
      await store.registerChild({ id: `${parent}-0`, parentId: parent, index: 0, fanoutSize: 1, actors: ['split'] });
      const settled = await store.setFinal(`${parent}-0`, { status: 'succeeded', result: odd });
      expect(settled).toMatchObject({ outcome: 'applied', event: { result: odd } });
      expect((await store.get(`${parent}-0`))?.result).toEqual(odd);
      expect(await store.get(parent)).toMatchObject({ status: 'succeeded', result: [odd] });
      expect((await store.eventsSince(parent, 0)).at(-1)?.result).toEqual([odd]);
    });

    it('records an owner, lists by it, and gives fan-out children their parent owner', async () => {
      const tool = uid('owned');
      const mine = uid('mine');
      await store.create({ id: mine, actors: ['a'], payload: null, toolName: tool, owner: 'alice' });
      await store.create({ id: uid('theirs'), actors: ['a'], payload: null, toolName: tool, owner: 'bob' });
      await store.create({ id: uid('shared'), actors: ['a'], payload: null, toolName: tool });
      expect((await store.list({ toolName: tool, owner: 'alice' })).items.map((e) => e.id)).toEqual([mine]);
      expect((await store.list({ toolName: tool })).items).toHaveLength(3);
      await store.registerChild({ id: `${mine}-1`, parentId: mine, index: 1, actors: ['a'] });
      expect(await store.get(`${mine}-1`)).toMatchObject({ owner: 'alice' });
    });

    it('rejects bad input with a clear error', async () => {
      const bad = (p: Promise<unknown>) => expect(p).rejects.toBeInstanceOf(InvalidEnvelopeInputError);
      await bad(store.create({ id: '', actors: ['a'], payload: null }));
      await bad(store.create({ id: 'nul\u0000id', actors: ['a'], payload: null }));
      await bad(store.create({ id: 'a'.repeat(513), actors: ['a'], payload: null }));
      await bad(store.create({ id: uid('x'), actors: [''], payload: null }));
      await bad(store.create({ id: uid('x'), actors: ['a'], payload: { s: 'nul\u0000' } }));
      await bad(store.create({ id: uid('x'), actors: ['a'], payload: null, deadline: new Date('nope') }));
      const id = uid('bad');
      await store.create({ id, actors: ['a'], payload: { s: 'not a nul: \\u0000' } });
      await bad(store.appendProgress(id, { actorState: 'done' as ActorState }));
      await bad(store.appendProgress(id, { currentActorIdx: -1 }));
      await bad(store.setFinal(id, { status: 'cancelled' as 'failed' }));
      await bad(store.eventsSince(id, -1));
      expect((await store.get(id))?.status).toBe('pending');
    });

    outboxConformance(() => ({ store, peer }));
    idempotencyConformance(() => ({ store, peer }));
    pauseConformance(() => ({ store, peer }));

    it('reports health and rejects clearly once closed', async () => {
      const own = await target.openThrowaway();
      expect(await own.ping()).toBe(true);
      await own.close();
      expect(await own.ping()).toBe(false);
      await expect(own.get('x')).rejects.toBeInstanceOf(StoreUnavailableError);
    });
  });
}
