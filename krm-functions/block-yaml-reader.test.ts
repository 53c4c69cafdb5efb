/**
 * The fast reader gives what js-yaml gives, or hands the text to js-yaml: on every golden case's input (kpt's
 * style and ours) and output, on our writer's and on kpt-style text of awkward values, and on hand-written
 * YAML of each construct it reads or refuses. It must also take the fast path where it is meant to: on a
 * ResourceList our writer or kpt wrote.
 */
import jsyaml from 'js-yaml';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { AWKWARD_STRINGS } from '../test/support/awkward-yaml.ts';
import { goldenCases, goldenConfig, readStream, resourceListText } from '../test/support/golden.ts';
import { dumpBlockYaml } from './block-yaml.ts';
import { NOT_BLOCK_YAML } from './block-yaml-reader.ts';
import { FUNCTIONS } from './functions.ts';
import { loadManifestDocuments, loadWithJsYaml, readWireBlockYaml, runFunction } from './resource-list.ts';

/** kpt writes sequences level with their key. */
const kptStyle = (value: unknown) => jsyaml.dump(value, { noRefs: true, lineWidth: -1, noArrayIndent: true });

/** The reader's answer is js-yaml's, or it declined; returns whether it read the text itself. */
function sameAsJsYaml(text: string): boolean {
  const fast = readWireBlockYaml(text);
  let expected: unknown[] | Error;
  try {
    expected = loadWithJsYaml(text);
  } catch (err) {
    expected = err as Error;
  }
  if (fast === NOT_BLOCK_YAML) return false;
  expect(expected, `js-yaml failed on text the reader read:\n${text}`).not.toBeInstanceOf(Error);
  expect([fast], text).toEqual(expected);
  return true;
}

const shapes = (s: string): unknown[] => [{ k: s }, { a: { b: [s, { c: s }] } }, { list: [{ x: s, y: [s] }] }, [s, { s }], { [s]: s, n: { [s]: [s] } }];

describe('the fast YAML reader', () => {
  test('every golden case: the function input as kpt and as we write it, and the output each function writes', () => {
    let fast = 0;
    let cases = 0;
    for (const name of Object.keys(FUNCTIONS)) {
      for (const { dir } of goldenCases(name)) {
        const input = resourceListText(readStream(join(dir, 'input.yaml')), goldenConfig(dir));
        const list = jsyaml.load(input);
        for (const text of [input, dumpBlockYaml(list), kptStyle(list), runFunction(FUNCTIONS[name]!, input).stdout]) {
          if (sameAsJsYaml(text)) fast++;
          cases++;
        }
      }
    }
    expect(cases).toBeGreaterThan(40);
    // Our writer's text and kpt's are the subset, and so is every golden input today: a case that is not
    // (anchors, flow style) belongs in the test below instead.
    expect(fast).toBe(cases);
  });

  test('awkward strings as values and keys, in our style and in kpt style: what it reads, it reads as js-yaml does', () => {
    let fast = 0;
    let cases = 0;
    for (const s of AWKWARD_STRINGS) {
      for (const value of shapes(s)) {
        for (const text of [dumpBlockYaml(value), kptStyle(value)]) {
          if (sameAsJsYaml(text)) fast++;
          cases++;
        }
      }
    }
    // The few it declines are keys js-yaml writes with `?` (long or multi-line keys).
    expect(fast).toBeGreaterThan(cases * 0.9);
  });

  test('values of every type: numbers, booleans, null, dates left as strings, empty collections', () => {
    const value = {
      n: [0, -1, 1.5, 1e21, 0x1f], b: [true, false], z: null, empty: { list: [], map: {} }, date: '2024-01-01',
      when: { at: '2001-12-14t21:59:43.10-05:00' }, plain: ['yes', 'No', '~', '.inf', '1_000'],
    };
    for (const text of [dumpBlockYaml(value), kptStyle(value), 'a: 2024-01-01\nb: 0x1F\nc: yes\nd: ~\ne: .inf\nf: -.5\n']) {
      expect(sameAsJsYaml(text)).toBe(true);
    }
    expect(readWireBlockYaml('a: 2024-01-01\n')).toEqual({ a: '2024-01-01' });
  });

  test('literal block scalars: clip, strip and keep, blank lines inside and after, comments inside, at any depth', () => {
    const texts = [
      'a: |\n  one\n  two\nb: 1\n',
      'a: |-\n  one\n\n  two\n\n\nb: 1\n',
      'a: |+\n  one\n\n\nb: 1\n',
      'a: |+\n  one\n',
      'a: |\n  # not a comment\n    deeper\n  back\n# a comment\nb: |\n  x\n',
      'list:\n  - |\n    item\n  - name: s\n    script: |-\n      #!/bin/sh\n      echo hi\n\n      exit 0\n',
      'list:\n- |\n  kpt item\n- k: |\n    v\n',
      'a: |\n  with   \n     \n  spaces beyond\n',
      'a: |\nb: 1\n',
      'a: |2-\n   indented\n  next\n',
      'list:\n  - |2\n     lead\n    x\n  - k: |+2\n\n       deep\n',
      'a: |-1\n\n  x\n',
    ];
    for (const text of texts) expect(sameAsJsYaml(text), text).toBe(true);
  });

  test('comments, quoted keys and values, and a leading document marker are read', () => {
    const texts = [
      '---\n# top\napiVersion: v1 # trailing\nkind: "List"\n\'it\'\'s\': "a: b"\nitems: # none\n',
      'a:\n  # inside\n  b: "quoted # not a comment"\n  c: \'single \'\'quote\'\'\'\n  "d e": f\n',
      'url: http://example.com:8080/x\nkey with spaces: value with spaces\n',
    ];
    for (const text of texts) expect(sameAsJsYaml(text), text).toBe(true);
  });

  test('what it does not read goes to js-yaml, which decides: the same values, or js-yaml\'s error', () => {
    const declined = [
      'a: &x 1\nb: *x\n', 'base: &b {x: 1}\nc:\n  <<: *b\n', 'a: [1, 2]\n', 'a: {b: 1}\n', '? complex\n: value\n',
      'a: plain\n  continued\n', 'a: "quoted\n  continued"\n', 'a: >\n  folded\n', 'a: |2+-\n  x\n', 'a: 1\na: 2\n',
      'a: 1\n---\nb: 2\n', 'a:\r\n  b: 1\r\n', 'a:\n\tb: 1\n', 'just a scalar\n', '', '# only a comment\n', '- - nested\n',
      '%YAML 1.2\n---\na: 1\n', 'a: !!str 1\n', 'a:\n  b: 1\n c: 2\n', 'a: b: c\n', '__proto__: 1\n',
      '\ufeffa: 1\n', 'a: |\n  bell \u0007 inside\n', 'a: |\n  lone \ud800 surrogate\n', 'a: |\n  del \u007f\n',
    ];
    for (const text of declined) {
      expect(readWireBlockYaml(text), JSON.stringify(text)).toBe(NOT_BLOCK_YAML);
      let viaJsYaml: unknown;
      try {
        viaJsYaml = loadWithJsYaml(text);
      } catch (err) {
        viaJsYaml = err;
      }
      if (viaJsYaml instanceof Error) expect(() => loadManifestDocuments(text)).toThrow(viaJsYaml.message);
      else expect(loadManifestDocuments(text)).toEqual(viaJsYaml);
    }
  });
});
