import { describe, expect, it } from 'vitest';
import { PAUSE_HEADER } from '../protocol/pause.ts';
import type { JsonValue } from '../protocol/json.ts';
import { findPause } from './pause.ts';

const route = { actors: ['a', 'b'], current: 1 };

describe('findPause', () => {
  it('finds nothing in ordinary results', () => {
    expect(findPause([{ payload: 1, route }])).toBeUndefined();
    expect(findPause([{ payload: 1, route, headers: { traceparent: 't' } }])).toBeUndefined();
    expect(findPause([{ error: 'processing_error' }])).toBeUndefined();
  });

  it('takes the pause out of the headers and keeps the others', () => {
    const spec = { prompt: 'Approve?', timeout_seconds: 5, default: null };
    expect(findPause([{ payload: { x: 1 }, route, headers: { traceparent: 't', [PAUSE_HEADER]: spec } }])).toEqual({
      spec,
      result: { payload: { x: 1 }, route, headers: { traceparent: 't' } },
    });
    expect(findPause([{ payload: null, route, headers: { [PAUSE_HEADER]: { prompt: 'Go?' } } }])).toEqual({ spec: { prompt: 'Go?' }, result: { payload: null, route } });
  });

  it('does not take a header the input already carried (copied through by a payload-mode runtime) for a pause', () => {
    const carried = { prompt: 'from a producer' };
    expect(findPause([{ payload: 1, route, headers: { [PAUSE_HEADER]: carried } }], { [PAUSE_HEADER]: carried })).toBeUndefined();
    expect(findPause([{ payload: 1, route, headers: { [PAUSE_HEADER]: { prompt: 'mine' } } }], { [PAUSE_HEADER]: carried })).toMatchObject({ spec: { prompt: 'mine' } });
  });

  it('refuses a pause inside a fan-out, and a pause it cannot read, naming why', () => {
    const pause = { payload: 1, route, headers: { [PAUSE_HEADER]: { prompt: 'p' } } };
    expect(findPause([pause, { payload: 2, route }])).toEqual({
      error: "a pause must be the handler's only result; got 2 results (a pause cannot be part of a fan-out)",
    });
    const bad = (value: JsonValue) => findPause([{ payload: 1, route, headers: { [PAUSE_HEADER]: value } }]);
    expect(bad('approve?')).toEqual({ error: `invalid pause: header ${PAUSE_HEADER} must be an object with a prompt` });
    expect(bad({ prompt: '' })).toEqual({ error: 'invalid pause: pause prompt must be a non-empty string' });
    expect(bad({ prompt: 'p', timeout_seconds: -1 })).toEqual({ error: 'invalid pause: pause timeout_seconds must be a positive number' });
    expect(bad({ prompt: 'p', schema: 'string' })).toEqual({ error: 'invalid pause: pause schema must be a JSON Schema object' });
  });
});
