import { describe, expect, it } from 'vitest';
import { checkArguments, type ParameterSpec } from './index.ts';

const params: Record<string, ParameterSpec> = {
  message: { type: 'string', required: true },
  count: { type: 'integer', default: 5 },
  ratio: { type: 'number' },
  loud: { type: 'boolean', default: false },
  color: { type: 'string', options: ['red', 'green'] },
  opts: { type: 'object', properties: { depth: { type: 'integer', required: true }, mode: { type: 'string', default: 'fast' } } },
  tags: { type: 'array', items: { type: 'string' } },
  free: { type: 'object' },
};

describe('tool arguments', () => {
  it('fills defaults, keeps given values and passes undeclared keys through', () => {
    expect(checkArguments(params, { message: 'hi', extra: [1], opts: { depth: 2 }, ratio: 0.5 })).toEqual({
      ok: true,
      value: { message: 'hi', count: 5, loud: false, extra: [1], opts: { depth: 2, mode: 'fast' }, ratio: 0.5 },
    });
  });

  it('treats null like a missing value: the default, or an error when required', () => {
    expect(checkArguments(params, { message: 'm', count: null, ratio: null })).toEqual({
      ok: true,
      value: { message: 'm', count: 5, loud: false },
    });
    expect(checkArguments(params, { message: null })).toEqual({ ok: false, errors: ['missing required parameter: message'] });
  });

  it('accepts absent or null arguments when nothing is required', () => {
    expect(checkArguments({ a: { type: 'string' } }, undefined)).toEqual({ ok: true, value: {} });
    expect(checkArguments({}, null)).toEqual({ ok: true, value: {} });
  });

  it('reports every problem at once, with the path to each', () => {
    const result = checkArguments(params, {
      count: 2.5, ratio: 'x', loud: 'yes', color: 'blue', opts: { mode: 3 }, tags: ['a', 1, null], free: [],
    });
    expect(result).toEqual({
      ok: false,
      errors: [
        'missing required parameter: message',
        'invalid parameter count: expected an integer, got the number 2.5',
        'invalid parameter ratio: expected a number, got the string "x"',
        'invalid parameter loud: expected a boolean, got the string "yes"',
        'invalid parameter color: must be one of "red", "green"; got "blue"',
        'missing required parameter: opts.depth',
        'invalid parameter opts.mode: expected a string, got the number 3',
        'invalid parameter tags[1]: expected a string, got the number 1',
        'invalid parameter tags[2]: expected a string, got null',
        'invalid parameter free: expected an object, got an array',
      ],
    });
  });

  it('rejects arguments that are not an object', () => {
    expect(checkArguments(params, ['message'])).toEqual({ ok: false, errors: ['arguments must be an object, got an array'] });
    expect(checkArguments(params, 'hi')).toEqual({ ok: false, errors: ['arguments must be an object, got the string "hi"'] });
  });

  it('does not share default objects between calls', () => {
    const spec = { o: { type: 'object' as const, default: { n: 1 } } };
    const first = checkArguments(spec, {});
    if (first.ok) (first.value.o as { n: number }).n = 2;
    expect(checkArguments(spec, {})).toEqual({ ok: true, value: { o: { n: 1 } } });
  });
});
