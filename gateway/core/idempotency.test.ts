import { describe, expect, it } from 'vitest';
import { canonicalJson, requestHash } from './idempotency.ts';

describe('the request an idempotency key stands for', () => {
  it('is the same whatever the order of object keys, at any depth', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 0, y: null }], c: 'x' } })).toBe('{"a":{"c":"x","d":[1,{"y":null,"z":0}]},"b":1}');
    expect(requestHash('t', { a: 1, b: { c: 2, d: 3 } })).toBe(requestHash('t', { b: { d: 3, c: 2 }, a: 1 }));
  });

  it('differs with the tool, the values, the order of list elements and the types', () => {
    const base = requestHash('t', { a: [1, 2] });
    for (const other of [requestHash('u', { a: [1, 2] }), requestHash('t', { a: [2, 1] }), requestHash('t', { a: ['1', 2] }), requestHash('t', { a: [1, 2], b: null })]) {
      expect(other).not.toBe(base);
    }
    // A tool name cannot leak into the arguments' part: the pair is hashed as a JSON array.
    expect(requestHash('t","x', {})).not.toBe(requestHash('t', { x: {} }));
    expect(base).toMatch(/^[0-9a-f]{64}$/);
  });
});
