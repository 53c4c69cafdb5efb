/** The fan-in's rules without a database: when it waits, what it emits, when it fails the parent. */
import { describe, expect, it } from 'vitest';
import { decideFanIn } from './fan-in-decision.ts';
import type { FanOutChild } from './state-machine.ts';

const ok = (index: number, result: unknown = index): FanOutChild => ({ id: `p-${index}`, index, status: 'succeeded', result: result as FanOutChild['result'], error: null });
const bad = (index: number, error = 'processing_error'): FanOutChild => ({ id: `p-${index}`, index, status: 'failed', result: null, error });
const busy = (index: number): FanOutChild => ({ id: `p-${index}`, index, status: 'running', result: null, error: null });
const base = { parentId: 'p', fanoutSize: 3, expired: false, missingError: 'did not reach fan-in f within 5 ms' } as const;

describe('decideFanIn', () => {
  it('waits while a child runs or has not been registered, whatever the order of arrival', () => {
    expect(decideFanIn({ ...base, policy: 'wait-all', children: [ok(2), ok(0), busy(1)] })).toEqual({ kind: 'wait' });
    expect(decideFanIn({ ...base, policy: 'wait-all', children: [ok(2), ok(0)] })).toEqual({ kind: 'wait' });
    expect(decideFanIn({ ...base, policy: 'partial', children: [] })).toEqual({ kind: 'wait' });
  });

  it('emits the results in fan-out order, not in arrival order', () => {
    expect(decideFanIn({ ...base, policy: 'wait-all', children: [ok(2, 'c'), ok(0, 'a'), ok(1, 'b')] })).toMatchObject({ kind: 'emit', payload: ['a', 'b', 'c'] });
  });

  it('after the timeout, a child never registered counts as failed under its derived id', () => {
    expect(decideFanIn({ ...base, expired: true, policy: 'wait-all', children: [ok(0, 'a'), ok(2, 'c')] })).toMatchObject({
      kind: 'emit',
      payload: ['a', { fan_in_error: { id: 'p-1', index: 1, error: base.missingError } }, 'c'],
      message: 'Fan-in complete: 2 of 3 children succeeded',
    });
  });

  it('fail-fast fails at the first failure without waiting for the rest', () => {
    expect(decideFanIn({ ...base, policy: 'fail-fast', children: [busy(0), bad(1), busy(2)] })).toMatchObject({
      kind: 'fail',
      error: 'fan-in (fail-fast): child p-1 failed: processing_error',
    });
  });

  it('partial keeps the successes in order and lists the failures', () => {
    expect(decideFanIn({ ...base, policy: 'partial', children: [bad(0, 'timeout'), ok(1, 'b'), ok(2, 'c')] })).toMatchObject({
      kind: 'emit',
      payload: { results: ['b', 'c'], errors: [{ id: 'p-0', index: 0, error: 'timeout' }] },
    });
  });

  it('without an announced size (an old sidecar), the registered children are all there is', () => {
    expect(decideFanIn({ ...base, fanoutSize: null, policy: 'wait-all', children: [ok(0), ok(1)] })).toMatchObject({ kind: 'emit', payload: [0, 1] });
  });
});
