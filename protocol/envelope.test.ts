import { describe, expect, test } from 'vitest';
import { MAX_ENVELOPE_ID_LENGTH, parseEnvelope, validateEnvelope, validateOutputEnvelope } from './envelope.ts';
import { jsonTextNestsDeeper, MAX_JSON_DEPTH, valueNestsDeeper } from './json.ts';

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

describe('the sidecar parse of a message (parseEnvelope)', () => {
  const route = { actors: ['a', 'b'], current: 0 };
  const parse = (value: unknown) => parseEnvelope(Buffer.from(JSON.stringify(value)));

  test('a malformed route is a validation_error; the salvage is itself a valid envelope', () => {
    for (const current of [-1, '0', 1.5, 3, null]) {
      const result = parse({ id: 'x', route: { actors: ['a', 'b'], current }, payload: 1 });
      expect(result).toMatchObject({ code: 'validation_error', salvage: { id: 'x', route: { actors: ['a', 'b'], current: 0 }, payload: 1 } });
    }
    expect(parse({ id: 'x', route: { actors: ['a', 'b'], current: 2 }, payload: 1 })).toHaveProperty('envelope');
    // A result past the end of its route, at any index, ends at happy-end, which must take it.
    for (const current of [-1, 3]) {
      expect(parseEnvelope(Buffer.from(JSON.stringify({ id: 'x', route: { actors: ['a'], current }, payload: 1 })), { endActor: true })).toHaveProperty('envelope');
    }
    expect(parse({ id: 'x', route: { actors: ['a', 7] }, payload: 1 })).toMatchObject({ code: 'validation_error', salvage: { id: 'x' } });
    expect(parse({ id: 'x', route: { actors: ['a', 7] }, payload: 1 })).not.toHaveProperty('salvage.route');
  });

  test(`an id longer than ${MAX_ENVELOPE_ID_LENGTH} characters is refused and not salvaged`, () => {
    const result = parse({ id: 'i'.repeat(MAX_ENVELOPE_ID_LENGTH + 1), route, payload: 1 });
    expect(result).toMatchObject({ code: 'validation_error', error: expect.stringContaining(`${MAX_ENVELOPE_ID_LENGTH}`) });
    expect(result).not.toHaveProperty('salvage.id');
    expect(parse({ id: 'i'.repeat(MAX_ENVELOPE_ID_LENGTH), route, payload: 1 })).toHaveProperty('envelope');
  });

  test('nesting past the limit is refused without a stack overflow; the shallow parts are salvaged', () => {
    const depth = 100_000;
    const body = `{"id":"x","route":{"actors":["a"]},"headers":{"h":1},"payload":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const result = parseEnvelope(Buffer.from(body));
    expect(result).toMatchObject({ code: 'nesting_too_deep', salvage: { id: 'x', route: { actors: ['a'], current: 0 }, headers: { h: 1 } } });
    expect(result).not.toHaveProperty('salvage.payload');
    const limit = `{"id":"x","route":{"actors":["a"]},"payload":${'['.repeat(MAX_JSON_DEPTH - 1)}${']'.repeat(MAX_JSON_DEPTH - 1)}}`;
    expect(parseEnvelope(Buffer.from(limit))).toHaveProperty('envelope');
    const overLimit = `{"id":"x","route":{"actors":["a"]},"payload":${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}}`;
    expect(parseEnvelope(Buffer.from(overLimit))).toMatchObject({ code: 'nesting_too_deep' });
    // An end actor takes error envelopes, one level deeper than the envelope that failed.
    expect(parseEnvelope(Buffer.from(overLimit), { endActor: true })).toHaveProperty('envelope');
  });

  test('brackets inside strings, escaped quotes included, do not count as nesting', () => {
    const tricky = Buffer.from(JSON.stringify({ s: `\\"${'['.repeat(1000)}`, t: '"{{{{' }));
    expect(jsonTextNestsDeeper(tricky, 1)).toBe(false);
    expect(jsonTextNestsDeeper(Buffer.from('[[1]]'), 1)).toBe(true);
    expect(valueNestsDeeper([[1]], 1)).toBe(true);
    expect(valueNestsDeeper({ a: [1] }, 2)).toBe(false);
  });

  test('invalid UTF-8 is a parse_error that keeps the id and route but not the altered payload', () => {
    const body = Buffer.concat([Buffer.from('{"id":"x","route":{"actors":["a"]},"payload":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    const result = parseEnvelope(body);
    expect(result).toMatchObject({ code: 'parse_error', error: expect.stringContaining('UTF-8'), salvage: { id: 'x', route: { actors: ['a'], current: 0 } } });
    expect(result).not.toHaveProperty('salvage.payload');
  });

  test('non-JSON and JSON that is not an object are parse_errors with nothing salvaged', () => {
    expect(parseEnvelope(Buffer.from('{"id": "x", '))).toEqual({ code: 'parse_error', error: expect.stringMatching(/^Failed to parse message/) });
    expect(parse(['x'])).toEqual({ code: 'parse_error', error: expect.stringContaining('got list') });
  });
});
