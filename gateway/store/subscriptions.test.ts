/**
 * The hub's ordering promise when a subscriber's first read and live notifications overlap: the store's
 * conformance suite covers the usual paths on real databases; here an event source whose reads wait on the
 * test decides exactly when each event commits relative to the read.
 */
import { expect, test } from 'vitest';
import type { EnvelopeEvent } from './store.ts';
import { SubscriptionHub, type EventSource } from './subscriptions.ts';

function event(seq: number, envelopeId = 'e1'): EnvelopeEvent {
  return { seq, envelopeId, status: 'running', message: null, result: null, error: null, progressPercent: null, actor: null, actors: null, currentActorIdx: null, envelopeState: null, late: false, timestamp: new Date(0) };
}

/** A table of committed events; `eventsSince` answers from the moment it is called, after `gate` opens. */
function source() {
  const committed: EnvelopeEvent[] = [];
  let open: () => void = () => {};
  let gate: Promise<void> = Promise.resolve();
  const src: EventSource = {
    eventsBySeq: async (seqs) => committed.filter((e) => seqs.includes(e.seq)),
    eventsSince: async (id, after, limit) => {
      const snapshot = committed.filter((e) => (id === undefined || e.envelopeId === id) && e.seq > after).slice(0, limit);
      await gate;
      return snapshot;
    },
    maxSeq: async (id) => {
      const max = Math.max(0, ...committed.filter((e) => id === undefined || e.envelopeId === id).map((e) => e.seq));
      await gate;
      return max;
    },
  };
  return {
    src,
    commit: (e: EnvelopeEvent) => committed.push(e),
    holdReads: () => (gate = new Promise((r) => (open = r))),
    releaseReads: () => open(),
  };
}

const settle = () => new Promise((r) => setTimeout(r, 10));

test('events committed while a new subscriber reads its history reach it once each, after the history, in seq order', async () => {
  const db = source();
  const hub = new SubscriptionHub(db.src);
  db.commit(event(1));
  db.commit(event(2));
  db.holdReads();
  const seen: number[] = [];
  const subscribing = hub.add('e1', (e) => seen.push(e.seq), { afterSeq: 0 });
  await settle(); // the read has taken its snapshot
  // Committed after the read's snapshot, while it is still in flight: only the notifications carry them.
  db.commit(event(3));
  hub.notify('3:e1');
  db.commit(event(4));
  hub.notify('4:e1');
  // A late notification of an event the read also has.
  hub.notify('2:e1');
  await settle();
  expect(seen).toEqual([]);
  db.releaseReads();
  await subscribing;
  await settle();
  expect(seen).toEqual([1, 2, 3, 4]);
});

test('a live-only subscriber gets what commits after it started, not what was there before', async () => {
  const db = source();
  const hub = new SubscriptionHub(db.src);
  db.commit(event(1));
  const seen: number[] = [];
  await hub.add('e1', (e) => seen.push(e.seq), {});
  db.commit(event(2));
  hub.notify('2:e1');
  db.commit(event(3, 'other'));
  hub.notify('3:other');
  await settle();
  expect(seen).toEqual([2]);
});

test('a reconnect while a subscriber reads its start is caught up once the read is done', async () => {
  const db = source();
  const hub = new SubscriptionHub(db.src);
  db.commit(event(1));
  db.holdReads();
  const seen: number[] = [];
  const subscribing = hub.add('e1', (e) => seen.push(e.seq), {});
  // The listener was away: event 2's notification is lost, and the hub is told to catch up.
  db.commit(event(2));
  hub.resume();
  await settle();
  db.releaseReads();
  await subscribing;
  await settle();
  expect(seen).toEqual([2]);
});

test("the all-envelopes subscriber and one envelope's subscriber each get their events once", async () => {
  const db = source();
  const hub = new SubscriptionHub(db.src);
  const all: number[] = [];
  const one: number[] = [];
  await hub.add(undefined, (e) => all.push(e.seq), {});
  const sub = await hub.add('e2', (e) => one.push(e.seq), {});
  for (const [seq, id] of [[1, 'e1'], [2, 'e2'], [3, 'e2']] as const) {
    db.commit(event(seq, id));
    hub.notify(`${seq}:${id}`);
  }
  await settle();
  await sub.close();
  db.commit(event(4, 'e2'));
  hub.notify('4:e2');
  await settle();
  expect(all).toEqual([1, 2, 3, 4]);
  expect(one).toEqual([2, 3]);
  expect(hub.size).toBe(1);
});

test('an event this process wrote for a followed envelope is delivered at its NOTIFY without a read; others are read', async () => {
  const db = source();
  const read: number[][] = [];
  const eventsBySeq = db.src.eventsBySeq;
  db.src.eventsBySeq = async (seqs) => {
    read.push([...seqs]);
    return eventsBySeq(seqs);
  };
  const hub = new SubscriptionHub(db.src);
  const seen: EnvelopeEvent[] = [];
  await hub.add('e1', (e) => seen.push(e), {});
  // Written here, for e1 (followed) and e2 (nobody follows it); then committed and notified.
  const mine = event(1);
  hub.wrote([mine, event(2, 'e2')]);
  db.commit(mine);
  db.commit(event(2, 'e2'));
  hub.notify('1:e1');
  hub.notify('2:e2');
  // Written by another replica: only the table has it.
  db.commit(event(3));
  hub.notify('3:e1');
  await settle();
  expect(seen.map((e) => e.seq)).toEqual([1, 3]);
  expect(seen[0]).toBe(mine);
  expect(read).toEqual([[3]]);
});

test('a written event whose transaction rolled back is never notified, so never delivered; what it kept is bounded', async () => {
  const db = source();
  const hub = new SubscriptionHub(db.src);
  const seen: number[] = [];
  await hub.add(undefined, (e) => seen.push(e.seq), {});
  hub.wrote([event(1)]); // rolled back: no commit, no NOTIFY
  hub.wrote(Array.from({ length: 5000 }, (_, i) => event(100 + i)));
  for (const seq of [100, 5099]) {
    db.commit(event(seq));
    hub.notify(`${seq}:e1`);
  }
  db.commit(event(2));
  hub.notify('2:e1');
  await settle();
  expect(seen).toEqual([100, 5099, 2]);
  expect((hub as unknown as { written: Map<number, EnvelopeEvent> }).written.size).toBeLessThanOrEqual(4096);
});

test('a live read that fails leaves its events to the catch-up, and no newer event overtakes them', async () => {
  const db = source();
  let failBySeq = 0;
  const read = db.src.eventsBySeq;
  db.src.eventsBySeq = async (seqs) => {
    if (failBySeq > 0) {
      failBySeq--;
      throw new Error('connection terminated');
    }
    return read(seqs);
  };
  const errors: unknown[] = [];
  const hub = new SubscriptionHub(db.src, (err) => errors.push(err));
  const seen: number[] = [];
  await hub.add('e1', (e) => seen.push(e.seq), { afterSeq: 0 });
  failBySeq = 1;
  db.commit(event(1));
  hub.notify('1:e1');
  await settle();
  // The database is back before the catch-up's timer: the next notification's read would succeed.
  db.commit(event(2));
  hub.notify('2:e1');
  await settle();
  expect(seen).toEqual([]);
  await expect.poll(() => seen, { timeout: 5_000 }).toEqual([1, 2]);
  db.commit(event(3));
  hub.notify('3:e1');
  await expect.poll(() => seen).toEqual([1, 2, 3]);
  expect(errors).toHaveLength(1);
  hub.close();
});
