import { describe, expect, test } from 'vitest';
import { validateEnvelope, validateOutputEnvelope } from './envelope.ts';

describe('envelope validation order (as the original runtime)', () => {
  const input = { route: { actors: ['a', 'b'], current: 1 } };

  test('an output that erases a processed actor and has a bad id reports the route first', () => {
    const output = { id: 7, payload: 1, route: { actors: ['x', 'b'], current: 2 } };
    expect(() => validateOutputEnvelope(output, input)).toThrow(/^Route modification error/);
  });

  test('the id is still checked on outputs and inputs', () => {
    expect(() => validateOutputEnvelope({ id: 7, payload: 1, route: { actors: ['a', 'b'], current: 2 } }, input)).toThrow(
      "Field 'id' must be a string",
    );
    expect(() => validateEnvelope({ id: 7, payload: 1, route: { actors: ['a'], current: 0 } })).toThrow("Field 'id' must be a string");
  });
});
