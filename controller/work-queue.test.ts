import { describe, expect, test, vi } from 'vitest';
import { TerminalError } from '../protocol/errors.ts';
import { WorkQueue } from './work-queue.ts';

describe('WorkQueue', () => {
  test('one run per key at a time; an add during a run runs once more afterwards; adds while waiting merge', async () => {
    const log: string[] = [];
    let release = () => {};
    const q = new WorkQueue(
      async (key) => {
        log.push(`start ${key}`);
        if (key === 'a' && log.filter((l) => l === 'start a').length === 1) await new Promise<void>((r) => (release = r));
        log.push(`end ${key}`);
      },
      { concurrency: 2, baseBackoffMs: 10, maxBackoffMs: 100 },
      () => {},
    );
    q.add('a');
    q.add('a'); // running: queued once more
    q.add('a'); // merged with the previous add
    q.add('b');
    await vi.waitFor(() => expect(log).toContain('end b'));
    expect(log.filter((l) => l === 'start a')).toHaveLength(1);
    release();
    await q.idle();
    expect(log).toEqual(['start a', 'start b', 'end b', 'end a', 'start a', 'end a']);
  });

  test('failures back off exponentially, capped, until the key succeeds', async () => {
    let calls = 0;
    const delays: Array<number | undefined> = [];
    const q = new WorkQueue(
      async () => {
        if (++calls < 5) throw new Error(`attempt ${calls}`);
      },
      { concurrency: 1, baseBackoffMs: 5, maxBackoffMs: 20 },
      (_key, _err, retryInMs) => delays.push(retryInMs),
    );
    q.add('x');
    await vi.waitFor(() => expect(calls).toBe(5));
    await q.idle();
    expect(delays).toEqual([5, 10, 20, 20]);
  });

  test('a terminal error is reported without a retry; the key runs again when it is added again', async () => {
    const runs: string[] = [];
    const reported: Array<[string, number | undefined]> = [];
    const q = new WorkQueue(
      async (key) => {
        runs.push(key);
        if (runs.length === 1) throw new TerminalError('the spec is invalid');
      },
      { concurrency: 1, baseBackoffMs: 1, maxBackoffMs: 1 },
      (key, err, retryInMs) => reported.push([`${key}: ${err.message}`, retryInMs]),
    );
    q.add('x');
    await q.idle();
    // Idle with nothing scheduled: a retry would have kept the queue busy (depth counts retry timers).
    expect({ runs, reported, depth: q.depth }).toEqual({ runs: ['x'], reported: [['x: the spec is invalid', undefined]], depth: 0 });
    q.add('x');
    await q.idle();
    expect(runs).toEqual(['x', 'x']);
  });
});
