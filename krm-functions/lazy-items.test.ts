/**
 * A ResourceList's items read lazily (block-yaml-reader.ts, `lazyItems`) and, when a function passes them
 * through, written out as the text they came in (item-text.ts): the same values as js-yaml whichever way
 * they are read, our writer's text back byte for byte, and the cases that must be read at once.
 */
import jsyaml from 'js-yaml';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { goldenCases, goldenConfig, readStream, resourceListText } from '../test/support/golden.ts';
import { dumpBlockYaml } from './block-yaml.ts';
import { NOT_BLOCK_YAML } from './block-yaml-reader.ts';
import { FUNCTIONS } from './functions.ts';
import { itemTextOf } from './item-text.ts';
import { injectSidecar } from './inject-sidecar/transform.ts';
import { loadWithJsYaml, readWireBlockYaml, runFunction } from './resource-list.ts';

const kptStyle = (value: unknown) => jsyaml.dump(value, { noRefs: true, lineWidth: -1, noArrayIndent: true });

function lazyList(text: string): { items: object[] } {
  const list = readWireBlockYaml(text, true);
  expect(list, text).not.toBe(NOT_BLOCK_YAML);
  return list as { items: object[] };
}

const PLATFORM = 'functionConfig:\n  apiVersion: fn.asya.sh/v1alpha1\n  kind: AsyaPlatform\n  metadata:\n    name: p\n  spec:\n    gatewayUrl: http://gw\n';
const ACTOR = [
  '- apiVersion: asya.sh/v1alpha1',
  '  kind: AsyncActor',
  '  metadata:',
  '    name: a',
  '  spec:',
  '    transport: rabbitmq',
  '    workload:',
  '      template:',
  '        spec:',
  '          containers:',
  '          - name: asya-runtime',
  '            image: img:1',
  '            env:',
  '            - name: ASYA_HANDLER',
  '              value: handler.process',
].join('\n');

describe('items read lazily', () => {
  test('every golden case, as we write it and as kpt does: js-yaml\'s values, whole or field by field, and our text back byte for byte', () => {
    let remembered = 0;
    for (const name of Object.keys(FUNCTIONS)) {
      for (const { dir } of goldenCases(name)) {
        const ours = resourceListText(readStream(join(dir, 'input.yaml')), goldenConfig(dir));
        const expected = jsyaml.load(ours);
        for (const text of [ours, kptStyle(expected)]) {
          // Written before any field is read: every item goes out as its text.
          const written = dumpBlockYaml(lazyList(text));
          expect(jsyaml.load(written)).toEqual(expected);
          if (text === ours) expect(written).toBe(ours);
          const list = lazyList(text);
          for (const item of list.items) if (itemTextOf(item)) remembered++;
          expect([list]).toEqual(loadWithJsYaml(text));
          // Read (toEqual read every field), still the same objects: still their text.
          if (text === ours) expect(dumpBlockYaml(list)).toBe(ours);
        }
      }
    }
    expect(remembered).toBeGreaterThan(100);
  });

  test('an item passed through keeps its text: comments, quoting and kpt\'s sequences, moved to where the list puts it', () => {
    const configMap = [
      '- apiVersion: v1',
      '  kind: ConfigMap',
      '  metadata:',
      '    name: kept',
      "    annotations: {}",
      '  data:',
      '    # why this value',
      "    quoted: 'plain'",
      '    script: |',
      '      # not a comment',
      '      echo "a: b"',
      '    list:',
      '    - one',
      '    -   two',
    ].join('\n');
    const text = `apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n${ACTOR}\n${configMap}\n${PLATFORM}`;
    const run = runFunction(injectSidecar, text);
    expect(run.exitCode).toBe(0);
    // Our writer indents the list's items by two: the item's lines move right by two, as they are.
    expect(run.stdout).toContain(configMap.split('\n').map((line) => `  ${line}`).join('\n'));
    const out = jsyaml.load(run.stdout) as { items: { kind: string; data?: unknown }[] };
    expect(out.items.find((i) => i.kind === 'ConfigMap')?.data).toEqual({ quoted: 'plain', script: '# not a comment\necho "a: b"\n', list: ['one', 'two'] });
    expect(out.items.some((i) => i.kind === 'Deployment')).toBe(true);
  });

  test('a field outside the fast reader\'s subset is js-yaml\'s to read, alone, when asked for', () => {
    const text = [
      'kind: ResourceList',
      'items:',
      '  - apiVersion: v1',
      '    kind: ConfigMap',
      '    metadata:',
      '      name: flow',
      '    data:',
      '      list: [a, b]',
      '      folded: >',
      '        one',
      '        two',
      '      plain: first',
      '        continued',
      '',
    ].join('\n');
    const list = lazyList(text);
    expect(itemTextOf(list.items[0]!)).toBeDefined();
    expect([list]).toEqual(loadWithJsYaml(text));
    expect(dumpBlockYaml(list)).toBe(text);
  });

  test('what might mean something else alone is read at once: an alias, a block scalar that keeps its trailing lines', () => {
    const texts = [
      'kind: ResourceList\nitems:\n  - apiVersion: v1\n    kind: A\n    metadata:\n      name: a\n    spec:\n      x: &shared 1\n      y: *shared\n',
      'kind: ResourceList\nitems:\n  - apiVersion: v1\n    kind: A\n    metadata:\n      name: a\n    spec:\n      list:\n        - *shared\n',
      'kind: ResourceList\nitems:\n  - apiVersion: v1\n    kind: A\n    metadata:\n      name: a\n    data:\n      kept: |+\n        line\n\n  - apiVersion: v1\n    kind: B\n    metadata:\n      name: b\n',
    ];
    for (const text of texts) {
      const read = readWireBlockYaml(text, true);
      if (read === NOT_BLOCK_YAML) continue; // js-yaml reads the whole text (an alias), as without the option
      const { items } = read as { items: object[] };
      for (const item of items) expect(itemTextOf(item)).toBeUndefined();
      expect([read]).toEqual(loadWithJsYaml(text));
    }
    // The last one the fast reader reads itself, at once, keeping the empty line.
    expect((readWireBlockYaml(texts[2]!, true) as { items: { data: { kept: string } }[] }).items[0]!.data.kept).toBe('line\n\n');
  });

  test('a field changed in place is written as it is now, not as it came', () => {
    const text = `kind: ResourceList\nitems:\n${ACTOR}\n`;
    const list = lazyList(text) as { items: { spec: unknown }[] };
    list.items[0]!.spec = { replaced: true };
    expect(itemTextOf(list.items[0]!)).toBeUndefined();
    expect(dumpBlockYaml(list)).toContain('replaced: true');
  });

  test('a YAML error in a field the function reads fails it, with the reason; in an item it only passes on, the error is left to the next reader', () => {
    const broken = `apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n${ACTOR}\n    args: [unclosed\n${PLATFORM}`;
    const failed = runFunction(injectSidecar, broken);
    expect(failed.exitCode).toBe(1);
    expect(failed.stdout).toBe('');
    expect(failed.stderr).toMatch(/^stdin is not valid YAML: /);

    const passedOn = '- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: c\n  data:\n    a: [unclosed\n';
    const run = runFunction(injectSidecar, `apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n${ACTOR}\n${passedOn}${PLATFORM}`);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain(passedOn.trimEnd().split('\n').map((line) => `  ${line}`).join('\n'));
  });
});
