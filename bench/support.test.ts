import { describe, expect, it } from 'vitest';
import { eachConcurrently, median } from './support.ts';

describe('bench support', () => {
  it('takes the middle of a bench run\'s rounds (the upper middle of an even count), NaN of none', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(3);
    expect(median([])).toBeNaN();
  });

  it('runs every item once, never more than the given number at a time', async () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    const seen: number[] = [];
    let running = 0;
    let most = 0;
    await eachConcurrently(items, 4, async (item) => {
      most = Math.max(most, ++running);
      await new Promise((resolve) => setImmediate(resolve));
      seen.push(item);
      running--;
    });
    expect(seen.sort((a, b) => a - b)).toEqual(items);
    expect(most).toBe(4);
  });
});
