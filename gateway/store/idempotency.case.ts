/**
 * The idempotency part of the EnvelopeStore suite (run by conformance.case.ts for every store): one
 * envelope per (owner, key), whoever races for it, and the key gone with its envelope.
 */
import { describe, expect, it } from 'vitest';
import { InvalidEnvelopeInputError, type CreateEnvelopeInput, type EnvelopeStore } from './store.ts';

let counter = 0;
const uid = (prefix: string) => `idem-${prefix}-${Date.now().toString(36)}-${++counter}`;
const HOUR = 3_600_000;

export function idempotencyConformance(stores: () => { store: EnvelopeStore; peer: EnvelopeStore }): void {
  describe('idempotency keys', () => {
    const input = (toolName: string, extra: Partial<CreateEnvelopeInput> = {}): CreateEnvelopeInput => ({
      id: uid('env'), actors: ['a', 'b'], payload: { n: 1 }, toolName, outbox: { leaseMs: 0 }, ...extra,
    });

    it('creates once per key: a repeat writes nothing and answers the first envelope with its hash', async () => {
      const { store } = stores();
      const tool = uid('tool');
      const key = uid('key');
      const first = await store.createOnce(input(tool), { key, requestHash: 'h1' });
      expect(first).toMatchObject({ outcome: 'created', envelope: { toolName: tool, status: 'pending', payload: { n: 1 }, idempotencyKey: key } });
      const repeat = input(tool, { payload: { n: 2 } });
      const second = await store.createOnce(repeat, { key, requestHash: 'h2' });
      expect(second).toEqual({ outcome: 'existing', envelope: await store.get(first.envelope.id), requestHash: 'h1' });
      // Nothing of the repeat was written: no envelope, no event, no outbox entry for a relay to publish.
      expect(await store.get(repeat.id)).toBeUndefined();
      expect(await store.eventsSince(repeat.id, 0)).toEqual([]);
      expect((await store.eventsSince(first.envelope.id, 0)).map((e) => e.message)).toEqual(['Envelope created']);
      const claimed = (await store.claimOutbox(HOUR, 1000)).map((e) => e.id);
      expect(claimed).toContain(first.envelope.id);
      expect(claimed).not.toContain(repeat.id);
      expect((await store.list({ toolName: tool })).items.map((e) => e.id)).toEqual([first.envelope.id]);
    });

    it('keeps one key space per owner, and one for envelopes without an owner', async () => {
      const { store } = stores();
      const tool = uid('owners');
      const key = uid('key');
      const made = await Promise.all([undefined, 'alice', 'bob'].map((owner) =>
        store.createOnce(input(tool, owner ? { owner } : {}), { key, requestHash: 'h' })));
      expect(made.map((m) => m.outcome)).toEqual(['created', 'created', 'created']);
      expect(await store.createOnce(input(tool, { owner: 'alice' }), { key, requestHash: 'h' }))
        .toMatchObject({ outcome: 'existing', envelope: { id: made[1]!.envelope.id, owner: 'alice' } });
      expect(await store.createOnce(input(tool), { key, requestHash: 'h' }))
        .toMatchObject({ outcome: 'existing', envelope: { id: made[0]!.envelope.id, owner: null } });
      expect((await store.list({ toolName: tool })).items).toHaveLength(3);
    });

    it('makes exactly one envelope of 20 racing creates with one key, across two instances', async () => {
      const { store, peer } = stores();
      const tool = uid('race');
      const key = uid('key');
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? peer : store).createOnce(input(tool), { key, requestHash: 'same' })));
      const created = results.filter((r) => r.outcome === 'created');
      expect(created).toHaveLength(1);
      const id = created[0]!.envelope.id;
      for (const r of results) expect(r.envelope.id).toBe(id);
      expect((await store.list({ toolName: tool })).items.map((e) => e.id)).toEqual([id]);
      expect(await store.eventsSince(id, 0)).toHaveLength(1);
    });

    it('shares a batch with plain creates and with a second use of its own key', async () => {
      const { store } = stores();
      const tool = uid('batch');
      const key = uid('key');
      const plain = input(tool);
      const [a, created, b] = await Promise.all([
        store.createOnce(input(tool), { key, requestHash: 'h' }),
        store.create(plain),
        store.createOnce(input(tool), { key, requestHash: 'h' }),
      ]);
      expect(created.id).toBe(plain.id);
      expect([a.outcome, b.outcome].sort()).toEqual(['created', 'existing']);
      expect(a.envelope.id).toBe(b.envelope.id);
      expect((await store.list({ toolName: tool })).items).toHaveLength(2);
    });

    it('frees the key when retention deletes its envelope, not before', async () => {
      const { store } = stores();
      const tool = uid('retention');
      const key = uid('key');
      const first = await store.createOnce(input(tool), { key, requestHash: 'h' });
      await store.setFinal(first.envelope.id, { status: 'succeeded', result: 1 });
      expect(await store.deleteOlderThan(new Date(Date.now() - HOUR))).toBe(0);
      expect(await store.createOnce(input(tool), { key, requestHash: 'h' })).toMatchObject({ outcome: 'existing', envelope: { id: first.envelope.id } });
      expect(await store.deleteOlderThan(new Date(Date.now() + 1000))).toBeGreaterThanOrEqual(1);
      const again = await store.createOnce(input(tool), { key, requestHash: 'other' });
      expect(again.outcome).toBe('created');
      expect(again.envelope.id).not.toBe(first.envelope.id);
    });

    it('rejects an empty key or one with NUL clearly, writing nothing', async () => {
      const { store } = stores();
      const tool = uid('bad');
      await expect(store.createOnce(input(tool), { key: '', requestHash: 'h' })).rejects.toBeInstanceOf(InvalidEnvelopeInputError);
      await expect(store.createOnce(input(tool), { key: 'a\u0000b', requestHash: 'h' })).rejects.toThrow(/idempotency key must be a string without NUL/);
      expect((await store.list({ toolName: tool })).items).toEqual([]);
    });
  });
}
