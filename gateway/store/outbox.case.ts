/**
 * The outbox part of the EnvelopeStore suite (run by conformance.case.ts for every store): what a relay
 * is handed, when, and what it is never handed.
 */
import { describe, expect, it } from 'vitest';
import { InvalidEnvelopeInputError, TIMEOUT_ERROR, type EnvelopeStore } from './store.ts';

let counter = 0;
const uid = (prefix: string) => `outbox-${prefix}-${Date.now().toString(36)}-${++counter}`;
const HOUR = 3_600_000;

export function outboxConformance(stores: () => { store: EnvelopeStore; peer: EnvelopeStore }): void {
  describe('outbox', () => {
    const claimedIds = async (store: EnvelopeStore, leaseMs = HOUR) => (await store.claimOutbox(leaseMs, 1000)).map((e) => e.id);

    it('hands a saved envelope to a relay once its publisher’s lease has run out, then leases it', async () => {
      const { store } = stores();
      const held = uid('held');
      const due = uid('due');
      const deadline = new Date(Math.ceil(Date.now() / 1000) * 1000 + HOUR);
      await store.create({ id: held, actors: ['a'], payload: { n: 1 }, outbox: { leaseMs: HOUR } });
      await store.create({
        id: due, actors: ['a', 'b'], payload: { q: 'hi' }, toolName: 't', routeMetadata: { job_id: due },
        headers: { traceparent: '00-abc-def-01' }, timeoutSeconds: 3600, deadline, outbox: { leaseMs: 0 },
      });
      const claimed = await store.claimOutbox(HOUR, 1000);
      const ids = claimed.map((e) => e.id);
      expect(ids).toContain(due);
      expect(ids).not.toContain(held);
      // The relay publishes from this record alone: it carries everything the first message needs.
      expect(claimed.find((e) => e.id === due)).toEqual(await store.get(due));
      expect(claimed.find((e) => e.id === due)).toMatchObject({
        status: 'pending', routeActors: ['a', 'b'], routeCurrent: 0, routeMetadata: { job_id: due },
        headers: { traceparent: '00-abc-def-01' }, payload: { q: 'hi' }, deadline,
      });
      expect(await claimedIds(store)).not.toContain(due);
    });

    it('hands an entry out again when the relay that leased it did not confirm within the lease', async () => {
      const { store } = stores();
      const id = uid('again');
      await store.create({ id, actors: ['a'], payload: null, outbox: { leaseMs: 0 } });
      expect(await claimedIds(store, 1)).toContain(id);
      let again: string[] = [];
      const until = Date.now() + 10_000;
      while (!again.includes(id) && Date.now() < until) again = await claimedIds(store, 1);
      expect(again).toContain(id);
    });

    it('never hands out a published envelope, one without an entry, one an actor has, or a final one', async () => {
      const { store } = stores();
      const published = uid('published');
      const plain = uid('plain');
      const received = uid('received');
      const cancelled = uid('cancelled');
      const pending = uid('pending');
      for (const id of [published, received, cancelled, pending]) {
        await store.create({ id, actors: ['a'], payload: null, outbox: { leaseMs: 0 } });
      }
      await store.create({ id: plain, actors: ['a'], payload: null });
      await store.markPublished(published);
      await store.appendProgress(received, { actorState: 'received', currentActorIdx: 0 });
      await store.cancel(cancelled);
      // `pending` is the positive marker: the pass ran over entries that were due.
      const ids = await claimedIds(store);
      expect(ids).toContain(pending);
      for (const id of [published, plain, received, cancelled]) expect(ids).not.toContain(id);
      await store.markPublished('no-such-envelope');
    });

    it('leaves an envelope past its deadline to the deadline sweep, which times it out', async () => {
      const { store } = stores();
      const overdue = uid('overdue');
      const inTime = uid('in-time');
      await store.create({ id: overdue, actors: ['a'], payload: null, deadline: new Date(Date.now() - 1000), outbox: { leaseMs: 0 } });
      await store.create({ id: inTime, actors: ['a'], payload: null, deadline: new Date(Date.now() + HOUR), outbox: { leaseMs: 0 } });
      const ids = await claimedIds(store, 0);
      expect(ids).toContain(inTime);
      expect(ids).not.toContain(overdue);
      expect(await store.failOverdue(new Date(), 1000)).toContain(overdue);
      expect(await store.get(overdue)).toMatchObject({ status: 'failed', error: TIMEOUT_ERROR });
      expect(await claimedIds(store, 0)).not.toContain(overdue);
      // Still in time, and not published yet: the sweep leaves it alone for the relay.
      expect(await store.failOverdue(new Date(), 1000)).not.toContain(inTime);
      expect(await claimedIds(store)).toContain(inTime);
    });

    it('gives each due entry to one of two relays claiming at once', async () => {
      const { store, peer } = stores();
      const ids = Array.from({ length: 30 }, (_, i) => uid(`race${i}`));
      for (const id of ids) await store.create({ id, actors: ['a'], payload: null, outbox: { leaseMs: 0 } });
      const [mine, theirs] = await Promise.all([store.claimOutbox(HOUR, 10), peer.claimOutbox(HOUR, 10)].map(async (p) => (await p).map((e) => e.id)));
      const rest = await claimedIds(store);
      const all = [...mine!, ...theirs!, ...rest];
      expect(new Set(all).size).toBe(all.length);
      for (const id of ids) expect(all).toContain(id);
    });

    it('rejects a bad lease or limit clearly', async () => {
      const { store } = stores();
      await expect(store.create({ id: uid('bad'), actors: ['a'], payload: null, outbox: { leaseMs: -1 } })).rejects.toBeInstanceOf(InvalidEnvelopeInputError);
      await expect(store.claimOutbox(1.5)).rejects.toBeInstanceOf(InvalidEnvelopeInputError);
      await expect(store.claimOutbox(1000, -1)).rejects.toBeInstanceOf(InvalidEnvelopeInputError);
    });
  });
}
