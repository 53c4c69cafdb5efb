import { describe, expect, test } from 'vitest';
import { assertSerialisable } from './json.ts';

class Point {
  constructor(readonly x: number) {}
}

describe('assertSerialisable', () => {
  test('passes what JSON.stringify writes faithfully, toJSON objects and objects without a prototype included', () => {
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 });
    const shared = { n: 1 };
    expect(() => assertSerialisable([{ payload: { s: 'x', n: 1.5, b: false, z: null, list: [1, [2, { bare }]] } }, { when: new Date(0), twice: [shared, shared] }])).not.toThrow();
  });

  test.each([
    ['a float out of range', [{ payload: { list: [1, Number.NaN] } }], 'Out of range float values are not JSON compliant: NaN at result[0].payload.list[1]'],
    ['a bigint', { payload: 10n }, 'Object of type bigint is not JSON serializable at result.payload'],
    ['undefined in a list', [undefined], 'Object of type undefined is not JSON serializable at result[0]'],
    ['a function', { f: () => 1 }, 'Object of type function is not JSON serializable at result.f'],
    ['a class instance', { p: new Point(1) }, 'Object of type Point is not JSON serializable at result.p'],
  ])('names %s and where it is', (_, value, message) => {
    expect(() => assertSerialisable(value)).toThrow(new TypeError(message));
  });

  test('names a circular reference where it closes, and the first problem when there are several', () => {
    const loop: Record<string, unknown> = { a: 1 };
    loop.self = { back: loop };
    expect(() => assertSerialisable({ loop })).toThrow(new TypeError('Circular reference detected at result.loop.self.back'));
    expect(() => assertSerialisable({ first: [Infinity], second: 1n }, 'out')).toThrow(new TypeError('Out of range float values are not JSON compliant: Infinity at out.first[0]'));
  });
});
