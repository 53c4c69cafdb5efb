import { describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit.ts';
import { errorText } from '../../protocol/errors.ts';

/** A writer whose batches finish only when the test says so, recording what each batch held. */
function gatedWriter() {
  const batches: number[][] = [];
  const gates: Array<() => void> = [];
  const write = async (items: number[]) => {
    batches.push(items);
    await new Promise<void>((open) => gates.push(open));
    return items.map((value) => (value < 0 ? { status: 'rejected', reason: new Error(`bad ${value}`) } as const : { status: 'fulfilled', value: value * 10 } as const));
  };
  const nextTurn = () => new Promise((r) => setImmediate(r));
  return { batches, gates, write, nextTurn };
}

describe('GroupCommit', () => {
  it('sends a lone write at once and gathers the writes that wait behind running batches', async () => {
    const w = gatedWriter();
    const group = new GroupCommit(w.write, { maxInFlight: 1, maxItems: 100, maxBytes: 1000 });
    const first = group.submit(1, 1);
    await w.nextTurn();
    expect(w.batches).toEqual([[1]]);
    const rest = [2, 3, 4].map((n) => group.submit(n, 1));
    await w.nextTurn();
    expect(w.batches).toHaveLength(1);
    w.gates.shift()?.();
    expect(await first).toBe(10);
    await w.nextTurn();
    expect(w.batches).toEqual([[1], [2, 3, 4]]);
    w.gates.shift()?.();
    expect(await Promise.all(rest)).toEqual([20, 30, 40]);
  });

  it('answers each item on its own and fails a whole batch only when the writer throws', async () => {
    const w = gatedWriter();
    const group = new GroupCommit(w.write, { maxInFlight: 1, maxItems: 100, maxBytes: 1000 });
    const settled = Promise.allSettled([group.submit(1, 1), group.submit(-2, 1), group.submit(3, 1)]);
    await w.nextTurn();
    w.gates.shift()?.();
    expect((await settled).map((s) => (s.status === 'fulfilled' ? s.value : errorText(s.reason)))).toEqual([10, 'bad -2', 30]);

    const broken = new GroupCommit<number, number>(async () => {
      throw new Error('connection lost');
    }, { maxInFlight: 1, maxItems: 100, maxBytes: 1000 });
    const all = await Promise.allSettled([broken.submit(1, 1), broken.submit(2, 1)]);
    expect(all.map((s) => s.status)).toEqual(['rejected', 'rejected']);
  });

  it('with lingerMs, writes made within it leave together, and idle() sends them at once', async () => {
    const w = gatedWriter();
    const group = new GroupCommit(w.write, { maxInFlight: 1, maxItems: 100, maxBytes: 1000, lingerMs: 60_000 });
    const first = [1, 2].map((n) => group.submit(n, 1));
    await w.nextTurn();
    await new Promise((r) => setTimeout(r, 5));
    const later = group.submit(3, 1);
    await w.nextTurn();
    expect(w.batches).toEqual([]);
    const idle = group.idle();
    expect(w.batches).toEqual([[1, 2, 3]]);
    w.gates.shift()?.();
    expect(await Promise.all([...first, later])).toEqual([10, 20, 30]);
    await idle;

    // Behind a running batch, later writes wait for the linger again rather than leaving when it ends.
    const running = group.submit(4, 1);
    const drained = group.idle();
    const behind = group.submit(5, 1);
    w.gates.shift()?.();
    expect(await running).toBe(40);
    await w.nextTurn();
    expect(w.batches.slice(1)).toEqual([[4]]);
    const idleAgain = group.idle();
    expect(w.batches.slice(1)).toEqual([[4], [5]]);
    w.gates.shift()?.();
    expect(await behind).toBe(50);
    await Promise.all([drained, idleAgain]);
  });

  it('splits by count and by size, and still sends an item larger than the size limit', async () => {
    const w = gatedWriter();
    const group = new GroupCommit(w.write, { maxInFlight: 10, maxItems: 2, maxBytes: 100 });
    const done = Promise.all([group.submit(1, 10), group.submit(2, 10), group.submit(3, 10), group.submit(4, 95), group.submit(5, 500)]);
    await w.nextTurn();
    expect(w.batches).toEqual([[1, 2], [3], [4], [5]]);
    for (const open of w.gates) open();
    expect(await done).toEqual([10, 20, 30, 40, 50]);
  });

  it('idle() waits for every submitted item, including the ones queued behind a running batch', async () => {
    const w = gatedWriter();
    const group = new GroupCommit(w.write, { maxInFlight: 1, maxItems: 100, maxBytes: 1000 });
    await group.idle();
    const written: number[] = [];
    const submit = (n: number) => void group.submit(n, 1).then((v) => written.push(v));
    submit(1);
    await w.nextTurn();
    submit(2);
    submit(3);
    let idle = false;
    const waiting = group.idle().then(() => (idle = true));
    w.gates.shift()?.();
    await w.nextTurn();
    // The first batch is written; the second is running: not idle yet.
    expect(w.batches).toEqual([[1], [2, 3]]);
    expect(idle).toBe(false);
    w.gates.shift()?.();
    await waiting;
    expect(written).toEqual([10, 20, 30]);
  });
});
