/** The x-asya-fan-out header: how the minimal pattern's fan-in learns a child's place without a gateway. */
import { describe, expect, test } from 'vitest';
import { FAN_OUT_HEADER, fanOutLevels, withFanOutLevel, withoutInnerLevel } from './fan-in.ts';

describe('x-asya-fan-out', () => {
  test('levels are appended by each fan-out and the innermost is removed by each fan-in', () => {
    const outer = withFanOutLevel({ a: 1 }, { parent_id: 'P', index: 0, size: 2 });
    const inner = withFanOutLevel(outer, { parent_id: 'P-0', index: 2, size: 3 });
    const levels = fanOutLevels(inner);
    expect(levels).toEqual([{ parent_id: 'P', index: 0, size: 2 }, { parent_id: 'P-0', index: 2, size: 3 }]);
    expect(withoutInnerLevel(inner, levels as never)).toEqual(outer);
    expect(withoutInnerLevel(outer, fanOutLevels(outer) as never)).toEqual({ a: 1 });
    // Headers that were only the fan-out's leave none behind.
    const only = withFanOutLevel(undefined, { parent_id: 'P', index: 0, size: 1 });
    expect(withoutInnerLevel(only, fanOutLevels(only) as never)).toBeUndefined();
  });

  test('an envelope without the header is in no fan-out; a malformed one is an error naming the header', () => {
    expect(fanOutLevels(undefined)).toEqual([]);
    expect(fanOutLevels({ other: 1 })).toEqual([]);
    for (const bad of ['x', [{ parent_id: 'P', index: 3, size: 3 }], [{ parent_id: '', index: 0, size: 1 }], [{ index: 0, size: 1 }]]) {
      expect(fanOutLevels({ [FAN_OUT_HEADER]: bad as never })).toEqual({ error: expect.stringContaining(FAN_OUT_HEADER) });
    }
  });
});
