import { describe, expect, it } from 'vitest';
import { ENVELOPE_STATUSES } from '../../protocol/gateway-contract.ts';
import {
  canTransition,
  deadlineAfterPause,
  decideFinal,
  decidePause,
  decideProgress,
  decideReopen,
  decideResume,
  fanOutWaitsByCounts,
  progressFor,
  settleFanOut,
  type FanOutChild,
  type LifecycleSnapshot,
} from './state-machine.ts';
import type { ActorState, EnvelopeStatus } from './store.ts';

/** The reports the sidecar sends for a route, with `completed` carrying the advanced index. */
function sidecarReports(total: number): Array<[ActorState, number]> {
  const reports: Array<[ActorState, number]> = [];
  for (let i = 0; i < total; i++) reports.push(['received', i], ['processing', i], ['completed', i + 1]);
  return reports;
}

function run(total: number): number[] {
  let state: LifecycleSnapshot = {
    status: 'pending',
    progressPercent: 0,
    currentActorIdx: 0,
    routeActors: Array.from({ length: total }, (_, i) => `a${i}`),
  };
  const seen: number[] = [];
  for (const [actorState, idx] of sidecarReports(total)) {
    const d = decideProgress(state, { actorState, currentActorIdx: idx });
    if (d.kind !== 'apply') throw new Error('unexpected ignore');
    state = { ...state, ...d.next };
    seen.push(d.next.progressPercent);
  }
  const final = decideFinal(state, 'succeeded');
  if (final.kind !== 'apply') throw new Error('unexpected ignore');
  seen.push(final.next.progressPercent);
  return seen;
}

describe('progress', () => {
  it('1-actor route reaches 100 only on success', () => {
    expect(run(1)).toEqual([10, 50, 99, 100]);
  });

  it('2-actor route shows 50 after the first actor, not 100 as the original did', () => {
    expect(run(2)).toEqual([5, 25, 50, 55, 75, 99, 100]);
  });

  it('3-actor route goes 33/66/99 then 100', () => {
    expect(run(3)).toEqual([3.33, 16.67, 33.33, 36.67, 50, 66.67, 70, 83.33, 99, 100]);
  });

  it('is monotonic and capped for out-of-range and out-of-order reports', () => {
    expect(progressFor('received', 5, 2)).toBe(99);
    expect(progressFor('completed', 0, 2)).toBe(0);
    expect(progressFor('processing', 0, 0)).toBe(0);
    const state: LifecycleSnapshot = { status: 'running', progressPercent: 50, currentActorIdx: 1, routeActors: ['a', 'b'] };
    const late = decideProgress(state, { actorState: 'received', currentActorIdx: 0 });
    expect(late).toMatchObject({ kind: 'apply', next: { progressPercent: 50, currentActorIdx: 1, late: true } });
  });

  it("marks a report behind the envelope's progress as late (history only), and one at or ahead of it as not", () => {
    const state: LifecycleSnapshot = { status: 'running', progressPercent: 55, currentActorIdx: 1, routeActors: ['a', 'b'] };
    expect(decideProgress(state, { actorState: 'processing', currentActorIdx: 0 })).toMatchObject({ next: { late: true } });
    expect(decideProgress(state, { actorState: 'received', currentActorIdx: 1 })).toMatchObject({ next: { progressPercent: 55, late: false } });
    expect(decideProgress(state, { actorState: 'processing', currentActorIdx: 1 })).toMatchObject({ next: { progressPercent: 75, late: false } });
    expect(decideProgress(state, { message: 'a note' })).toMatchObject({ next: { late: false } });
  });

  it('takes a longer route from the report and keeps the stored one otherwise', () => {
    const state: LifecycleSnapshot = { status: 'running', progressPercent: 0, currentActorIdx: 0, routeActors: ['a', 'b'] };
    const longer = decideProgress(state, { actorState: 'completed', currentActorIdx: 1, actors: ['a', 'b', 'c', 'd'] });
    expect(longer).toMatchObject({ kind: 'apply', next: { routeActors: ['a', 'b', 'c', 'd'], progressPercent: 25 } });
    const shorter = decideProgress(state, { actorState: 'completed', currentActorIdx: 1, actors: ['a'] });
    expect(shorter).toMatchObject({ kind: 'apply', next: { routeActors: ['a', 'b'], progressPercent: 50 } });
  });

  it('a plain note marks running without moving progress', () => {
    const state: LifecycleSnapshot = { status: 'pending', progressPercent: 0, currentActorIdx: 0, routeActors: ['a'] };
    expect(decideProgress(state, { message: 'Sending envelope to first actor' })).toMatchObject({
      kind: 'apply',
      next: { status: 'running', progressPercent: 0, currentActorName: 'a' },
    });
  });
});

describe('transitions', () => {
  const all: EnvelopeStatus[] = ['pending', 'running', 'paused', 'succeeded', 'failed'];

  it('never leaves a final state', () => {
    for (const from of ['succeeded', 'failed'] as const) {
      for (const to of all) expect(canTransition(from, to)).toBe(false);
      const snapshot: LifecycleSnapshot = { status: from, progressPercent: 40, currentActorIdx: 0, routeActors: ['a'] };
      expect(decideProgress(snapshot, { actorState: 'completed', currentActorIdx: 1 }).kind).toBe('ignore');
      expect(decideFinal(snapshot, 'succeeded').kind).toBe('ignore');
      expect(decideFinal(snapshot, 'failed').kind).toBe('ignore');
    }
  });

  it('lets pending and running reach either final state', () => {
    for (const from of ['pending', 'running'] as const) {
      expect(canTransition(from, 'succeeded')).toBe(true);
      expect(canTransition(from, 'failed')).toBe(true);
    }
    expect(canTransition('running', 'pending')).toBe(false);
  });

  it('leaves failed for running only by an explicit replay, never a cancelled or any other envelope', () => {
    expect(decideReopen({ status: 'failed', cancelled: false })).toEqual({ kind: 'apply', next: { status: 'running' } });
    expect(decideReopen({ status: 'failed', cancelled: true })).toEqual({ kind: 'ignore', reason: 'envelope was cancelled' });
    for (const status of ['pending', 'running', 'succeeded'] as const) {
      expect(decideReopen({ status, cancelled: false })).toEqual({ kind: 'ignore', reason: `envelope is ${status}, not failed` });
    }
  });

  it('keeps the reached progress on failure', () => {
    const snapshot: LifecycleSnapshot = { status: 'running', progressPercent: 66.67, currentActorIdx: 2, routeActors: ['a', 'b', 'c'] };
    expect(decideFinal(snapshot, 'failed')).toEqual({ kind: 'apply', next: { status: 'failed', progressPercent: 66.67 } });
    expect(decideFinal(snapshot, 'succeeded')).toEqual({ kind: 'apply', next: { status: 'succeeded', progressPercent: 100 } });
  });
});

describe('pause and resume', () => {
  it('pauses a pending or running envelope; a repeated pause changes nothing; a final one cannot pause', () => {
    for (const status of ['pending', 'running'] as const) {
      expect(decidePause({ status })).toEqual({ kind: 'apply', next: { status: 'paused' } });
      expect(canTransition(status, 'paused')).toBe(true);
    }
    expect(decidePause({ status: 'paused' })).toEqual({ kind: 'repeat' });
    for (const status of ['succeeded', 'failed'] as const) {
      expect(decidePause({ status })).toEqual({ kind: 'ignore', reason: `envelope is already ${status}` });
    }
  });

  it('leaves paused only by a resume (running) or a failure (timeout, cancel)', () => {
    expect(ENVELOPE_STATUSES.filter((to) => canTransition('paused', to))).toEqual(['running', 'failed']);
    expect(decideResume({ status: 'paused' })).toEqual({ kind: 'apply', next: { status: 'running' } });
    for (const status of ['pending', 'running', 'succeeded', 'failed'] as const) {
      expect(decideResume({ status })).toEqual({ kind: 'ignore', reason: `envelope is ${status}, not paused` });
    }
    const paused: LifecycleSnapshot = { status: 'paused', progressPercent: 25, currentActorIdx: 1, routeActors: ['a', 'b'] };
    expect(decideFinal(paused, 'failed')).toEqual({ kind: 'apply', next: { status: 'failed', progressPercent: 25 } });
  });

  it('ignores progress for a paused envelope (a late report of the actor that paused)', () => {
    const paused: LifecycleSnapshot = { status: 'paused', progressPercent: 25, currentActorIdx: 0, routeActors: ['a', 'b'] };
    expect(decideProgress(paused, { actorState: 'processing', currentActorIdx: 0 })).toEqual({ kind: 'ignore', reason: 'envelope is paused' });
  });

  it('does not count the time spent paused against the deadline', () => {
    const pausedAt = new Date('2026-01-01T10:00:00Z');
    const resumedAt = new Date('2026-01-01T12:30:00Z');
    expect(deadlineAfterPause(new Date('2026-01-01T10:05:00Z'), pausedAt, resumedAt)).toEqual(new Date('2026-01-01T12:35:00Z'));
    expect(deadlineAfterPause(null, pausedAt, resumedAt)).toBeNull();
  });
});

describe('fan-out settlement', () => {
  const child = (index: number, status: EnvelopeStatus, result: unknown = `r${index}`, error: string | null = null): FanOutChild => ({
    id: `c${index}`,
    index,
    status,
    result: result as FanOutChild['result'],
    error,
  });

  it('waits while any branch is unfinished and gathers results in index order', () => {
    const parent = { id: 'p', ownBranch: null, fanoutSize: 3 };
    expect(settleFanOut(parent, [child(2, 'succeeded'), child(0, 'running'), child(1, 'succeeded')])).toBeUndefined();
    expect(settleFanOut(parent, [child(2, 'succeeded'), child(0, 'succeeded'), child(1, 'succeeded')])).toEqual({
      status: 'succeeded',
      result: ['r0', 'r1', 'r2'],
      error: null,
      message: 'All 3 fan-out branches succeeded',
    });
  });

  it('the counts say "wait" only where settleFanOut waits, and do on every unfinished set it reads to the end', () => {
    // Every small fan-out: 0-3 children on indices 0-3, each status, with and without the parent's own branch
    // and an announced size. Seeded, so a failure names a case that comes back.
    let seed = 7;
    const next = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const statuses: EnvelopeStatus[] = ['pending', 'running', 'succeeded', 'failed', 'paused'];
    let waitsCounted = 0;
    for (let trial = 0; trial < 4000; trial++) {
      const kids = Array.from({ length: next(4) }, () => child(next(4), statuses[next(statuses.length)]!));
      const ownStatus = [null, 'succeeded', 'failed', 'running'][next(4)] as EnvelopeStatus | null;
      const parent = { id: 'p', ownBranch: ownStatus ? { status: ownStatus, result: 'own', error: null } : null, fanoutSize: [null, 1, 2, 3, 4][next(5)]! };
      const counts = { children: kids.length, pending: kids.filter((k) => k.status !== 'succeeded' && k.status !== 'failed').length, hasIndexZero: kids.some((k) => k.index === 0) };
      const waits = fanOutWaitsByCounts(parent, counts);
      const settled = settleFanOut(parent, kids);
      if (waits) {
        waitsCounted++;
        expect(settled, JSON.stringify({ parent, kids })).toBeUndefined();
      }
      // Where it settles, the counts must have let it read; where it waits with a child unfinished, they must say so.
      if (counts.pending > 0) expect(waits).toBe(true);
    }
    expect(waitsCounted).toBeGreaterThan(1000);
  });

  it('waits for the announced number of branches', () => {
    expect(settleFanOut({ id: 'p', ownBranch: null, fanoutSize: 3 }, [child(0, 'succeeded'), child(1, 'succeeded')])).toBeUndefined();
  });

  it("counts the parent's own flow as branch 0 when children start at 1 (original id scheme)", () => {
    const children = [child(1, 'succeeded'), child(2, 'succeeded')];
    expect(settleFanOut({ id: 'p', ownBranch: null, fanoutSize: null }, children)).toBeUndefined();
    const own = { status: 'succeeded' as const, result: 'own', error: null };
    expect(settleFanOut({ id: 'p', ownBranch: own, fanoutSize: null }, children)?.result).toEqual(['own', 'r1', 'r2']);
  });

  it('fails the parent once all are final when any branch failed, with per-branch results', () => {
    const parent = { id: 'p', ownBranch: null, fanoutSize: null };
    expect(settleFanOut(parent, [child(0, 'failed', null, 'boom'), child(1, 'running')])).toBeUndefined();
    expect(settleFanOut(parent, [child(0, 'failed', null, 'boom'), child(1, 'succeeded')])).toEqual({
      status: 'failed',
      result: [
        { id: 'c0', status: 'failed', error: 'boom' },
        { id: 'c1', status: 'succeeded', result: 'r1' },
      ],
      error: '1 of 2 fan-out branches failed: c0: boom',
      message: 'Fan-out failed in 1 of 2 branches',
    });
  });

  it("names every failed branch with its handler's message and exception type, not only the code", () => {
    const failure = (message: string, type: string) => ({ error: 'processing_error', details: { message, type }, failed_actor: 'split' });
    const kids = [
      child(0, 'failed', failure('no text left', 'ValueError'), 'processing_error'),
      child(1, 'succeeded'),
      child(2, 'failed', failure('too long', 'LengthError'), 'processing_error'),
    ];
    const outcome = settleFanOut({ id: 'p', ownBranch: null, fanoutSize: null }, kids);
    expect(outcome?.error).toBe(
      '2 of 3 fan-out branches failed: c0: processing_error at split: ValueError: no text left; c2: processing_error at split: LengthError: too long',
    );
    expect(outcome?.result).toEqual([
      { id: 'c0', status: 'failed', error: 'processing_error', message: 'no text left', type: 'ValueError', failed_actor: 'split' },
      { id: 'c1', status: 'succeeded', result: 'r1' },
      { id: 'c2', status: 'failed', error: 'processing_error', message: 'too long', type: 'LengthError', failed_actor: 'split' },
    ]);
  });

  it('names the first five failed branches and counts the rest', () => {
    const kids = Array.from({ length: 7 }, (_, i) => child(i, 'failed', null, `e${i}`));
    expect(settleFanOut({ id: 'p', ownBranch: null, fanoutSize: null }, kids)?.error).toBe(
      '7 of 7 fan-out branches failed: c0: e0; c1: e1; c2: e2; c3: e3; c4: e4; and 2 more (see the result)',
    );
  });

  it('does nothing without children', () => {
    expect(settleFanOut({ id: 'p', ownBranch: null, fanoutSize: null }, [])).toBeUndefined();
  });
});
