/**
 * dumpBlockYaml writes exactly what js-yaml writes with the KRM functions' options: for every golden case's
 * input and output, and for the values whose style js-yaml decides with care (strings that read as other
 * types, block scalars at every depth, keys that need quotes, undefined and holes, numbers' corner cases).
 */
import jsyaml from 'js-yaml';
import { describe, expect, test } from 'vitest';
import { goldenCases, goldenConfig, readStream, resourceListText } from '../test/support/golden.ts';
import { join } from 'node:path';
import { AWKWARD_STRINGS } from '../test/support/awkward-yaml.ts';
import { dumpBlockYaml } from './block-yaml.ts';
import { FUNCTIONS } from './functions.ts';
import { runFunction } from './resource-list.ts';

const jsYaml = (value: unknown) => jsyaml.dump(value, { noRefs: true, lineWidth: -1 });

describe('the same text as js-yaml', () => {
  test('every golden case: the ResourceList in and the one each function writes', () => {
    let compared = 0;
    for (const name of Object.keys(FUNCTIONS)) {
      for (const { dir } of goldenCases(name)) {
        const input = resourceListText(readStream(join(dir, 'input.yaml')), goldenConfig(dir));
        const list = jsyaml.load(input);
        expect(dumpBlockYaml(list)).toBe(jsYaml(list));
        const output = jsyaml.load(runFunction(FUNCTIONS[name]!, input).stdout);
        expect(dumpBlockYaml(output)).toBe(jsYaml(output));
        compared += 2;
      }
    }
    expect(compared).toBeGreaterThan(20);
  });


  test('awkward strings as values at every depth, in mappings and in sequences', () => {
    for (const s of AWKWARD_STRINGS) {
      for (const value of [s, [s], { k: s }, { a: { b: [s, [s, { c: s }]] } }, [[[s]]], { list: [{ x: s, y: [s] }] }]) {
        expect(dumpBlockYaml(value)).toBe(jsYaml(value));
      }
    }
  });

  test('awkward strings as keys, including those js-yaml writes as explicit or quoted keys', () => {
    for (const s of [...AWKWARD_STRINGS, 'k'.repeat(1025)]) {
      const value = { [s]: 1, nested: { [s]: [s] } };
      expect(dumpBlockYaml(value)).toBe(jsYaml(value));
    }
  });

  test('numbers, booleans, null, empty collections, undefined values and holes', () => {
    const values: unknown[] = [
      0, -0, 1, -1, 1.5, -2.25, 1e21, 1e-7, 123456789012345680000, Number.MAX_SAFE_INTEGER, NaN, Infinity, -Infinity,
      true, false, null, [], {}, [[]], [{}], { a: [] }, { a: {} }, { a: undefined }, { a: undefined, b: 1 }, { a: { b: undefined } },
      [undefined, 1], [1, , 3], { a: [undefined] }, [0, -0, { z: -0 }], undefined,
    ];
    for (const value of values) expect(dumpBlockYaml(value)).toBe(jsYaml(value));
  });

  test('a text of megabytes, written in pieces and joined, with characters beyond Latin-1 in it', () => {
    const value = { items: Array.from({ length: 4000 }, (_, i) => ({ name: `n-${i}`, list: ['a', `b → ${i}`, i], nested: { deep: { text: 'x'.repeat(200) } } })) };
    const text = dumpBlockYaml(value);
    expect(text.length).toBeGreaterThan(1024 * 1024);
    expect(text).toBe(jsYaml(value));
  });

  test('what it does not lay out itself goes to js-yaml whole: a Date, a Buffer, a boxed value', () => {
    for (const value of [{ when: new Date(0) }, { bytes: Buffer.from('abc') }, [new Date(0)], { n: Object(1) as number }]) {
      expect(dumpBlockYaml(value)).toBe(jsYaml(value));
    }
    expect(() => dumpBlockYaml({ f: () => 1 })).toThrow(jsyaml.YAMLException);
  });
});
