/**
 * The pause part of the EnvelopeStore suite (run by conformance.case.ts for every store): pause, resume once,
 * the deadline moved by the pause, expiry with and without a default, and the resume's publish lease.
 */
import { describe, expect, it } from 'vitest';
import type { EnvelopeStore, PauseInput } from './store.ts';

let counter = 0;
const uid = (prefix: string) => `pause-${prefix}-${Date.now().toString(36)}-${++counter}`;
const HOUR = 3_600_000;

const pauseOf = (id: string, extra: Partial<PauseInput> = {}): PauseInput => ({
  actor: 'ask',
  prompt: 'Approve?',
  inputKey: 'resume_input',
  queue: 'asya-next',
  message: { id, route: { actors: ['ask', 'next'], current: 1 }, payload: { doc: 1 } },
  ...extra,
});

export function pauseConformance(stores: () => { store: EnvelopeStore; peer: EnvelopeStore }): void {
  describe('pause and resume', () => {
    it('pauses, records the history, and resumes exactly once with the input in the message', async () => {
      const { store, peer } = stores();
      const id = uid('once');
      const deadline = new Date(Date.now() + HOUR);
      await store.create({ id, actors: ['ask', 'next'], payload: { doc: 1 }, deadline, timeoutSeconds: 3600 });
      expect(await store.pause(id, pauseOf(id, { schema: { type: 'boolean' } }))).toMatchObject({ outcome: 'applied', envelope: { status: 'paused' } });
      expect(await peer.pause(id, pauseOf(id))).toMatchObject({ outcome: 'repeat' });
      expect(await store.getPause(id)).toMatchObject({ envelopeId: id, prompt: 'Approve?', schema: { type: 'boolean' }, default: null, resumedAt: null });
      // A paused envelope's deadline does not run: the sweep leaves it alone even past the deadline.
      expect(await store.failOverdue(new Date(Date.now() + 2 * HOUR))).not.toContain(id);

      const [first, second] = await Promise.all([
        store.resume(id, { input: true, via: 'a', leaseMs: HOUR }),
        peer.resume(id, { input: false, via: 'b', leaseMs: HOUR }),
      ]);
      const outcomes = [first.outcome, second.outcome].sort();
      expect(outcomes).toEqual(['applied', 'refused']);
      const applied = first.outcome === 'applied' ? first : second;
      if (applied.outcome !== 'applied') throw new Error('no resume applied');
      expect(applied.publish).toMatchObject({ envelopeId: id, queue: 'asya-next', message: { id, route: { current: 1 } } });
      expect(applied.publish.message.payload).toEqual({ doc: 1, resume_input: applied === first });
      // The deadline moved by the time spent paused, and travels in the message.
      const moved = (await store.get(id))!.deadline!;
      expect(moved.getTime()).toBeGreaterThanOrEqual(deadline.getTime());
      expect(applied.publish.message.deadline).toBe(moved.toISOString());
      const states = (await store.eventsSince(id, 0)).map((e) => [e.status, e.envelopeState]);
      expect(states).toEqual([['pending', null], ['paused', 'paused'], ['running', 'resumed']]);
      expect(await store.resume(id, { input: 1, via: 'c', leaseMs: HOUR })).toMatchObject({ outcome: 'refused', reason: 'envelope is running, not paused' });
    });

    it('hands a resume to the relay only once its lease ran out, and not after it was published', async () => {
      const { store } = stores();
      const held = uid('held');
      const due = uid('due');
      for (const id of [held, due]) {
        await store.create({ id, actors: ['ask', 'next'], payload: null });
        await store.pause(id, pauseOf(id));
      }
      await store.resume(held, { input: 1, via: 't', leaseMs: HOUR });
      await store.resume(due, { input: 2, via: 't', leaseMs: 0 });
      const claimed = (await store.claimResumes(HOUR, 1000)).map((r) => r.envelopeId);
      expect(claimed).toContain(due);
      expect(claimed).not.toContain(held);
      await store.markResumePublished(due);
      await store.markResumePublished(held);
      expect((await store.claimResumes(0, 1000)).map((r) => r.envelopeId).filter((id) => id === due || id === held)).toEqual([]);
    });

    it('ends an expired pause: its default becomes the answer, or the envelope fails naming the prompt', async () => {
      const { store } = stores();
      const withDefault = uid('default');
      const without = uid('fail');
      const waiting = uid('waiting');
      for (const id of [withDefault, without, waiting]) await store.create({ id, actors: ['ask', 'next'], payload: { doc: 1 } });
      await store.pause(withDefault, pauseOf(withDefault, { timeoutSeconds: 1, default: { value: null } }));
      await store.pause(without, pauseOf(without, { timeoutSeconds: 1 }));
      await store.pause(waiting, pauseOf(waiting));
      const handled = await store.expirePauses(new Date(Date.now() + 60_000), 1000);
      expect(handled).toEqual(expect.arrayContaining([withDefault, without]));
      expect(handled).not.toContain(waiting);
      expect(await store.get(withDefault)).toMatchObject({ status: 'running', message: 'Resumed with the default after 1 s without input' });
      const published = (await store.claimResumes(HOUR, 1000)).find((r) => r.envelopeId === withDefault);
      expect(published?.message.payload).toEqual({ doc: 1, resume_input: null });
      expect(await store.get(without)).toMatchObject({ status: 'failed', error: 'pause timed out: no input within 1 s for "Approve?" (paused at ask)' });
      expect(await store.get(waiting)).toMatchObject({ status: 'paused' });
      expect(await store.expirePauses(new Date(Date.now() + 60_000), 1000)).not.toContain(withDefault);
    });
  });
}
