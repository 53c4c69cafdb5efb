/**
 * Golden cases: krm-functions/<function>/testdata/<case>/ holds
 *   input.yaml     the items (a YAML stream)
 *   config.yaml    the functionConfig (optional; absent = no functionConfig at all)
 *   expected.yaml  the items the function must return
 *   results.yaml   the results it must return ([] when none)
 * Each case runs through the real wire format (a ResourceList in, a ResourceList out) and then again on
 * its own output, which must give the same items and results: the functions are idempotent.
 * The runtime ConfigMap's script is checked against runtime/python/asya_runtime.py and shown in the
 * expected files as a placeholder, so editing the runtime does not rewrite every golden file.
 * Regenerate after a deliberate change with UPDATE_GOLDEN=1, then read the diff (refused where CI is set).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import YAML from 'yaml';
import { goldenCases, goldenConfig, readStream, resourceListText, updateGolden, withScriptPlaceholder } from '../test/support/golden.ts';
import { FUNCTIONS } from './functions.ts';
import { runFunction, stringify, type KubeObject, type Result } from './resource-list.ts';
import { runtimeScript } from './runtime-script.ts';

const update = updateGolden();

function run(name: string, items: unknown[], config: unknown): { items: KubeObject[]; results: Result[]; exitCode: number } {
  const out = runFunction(FUNCTIONS[name]!, resourceListText(items, config));
  const parsed = YAML.parse(out.stdout) as { items: KubeObject[]; results?: Result[] };
  return { items: parsed.items, results: parsed.results ?? [], exitCode: out.exitCode };
}

function withPlaceholder(items: KubeObject[]): KubeObject[] {
  const { items: replaced, scripts } = withScriptPlaceholder(items);
  for (const script of scripts) expect(script).toBe(runtimeScript());
  return replaced;
}

const writeStream = (path: string, values: unknown[]) => writeFileSync(path, values.map((v) => stringify(v)).join('---\n'));

for (const name of Object.keys(FUNCTIONS)) {
  describe(`${name} golden cases`, () => {
    for (const { name: caseName, dir } of goldenCases(name)) {
      test(caseName, () => {
        const input = readStream(join(dir, 'input.yaml'));
        const config = goldenConfig(dir);
        const first = run(name, input, config);
        const hasError = first.results.some((r) => r.severity === 'error');
        expect(first.exitCode).toBe(hasError ? 1 : 0);
        if (update) {
          writeStream(join(dir, 'expected.yaml'), withPlaceholder(first.items));
          writeFileSync(join(dir, 'results.yaml'), stringify(first.results));
        }
        expect(withPlaceholder(first.items)).toEqual(readStream(join(dir, 'expected.yaml')));
        expect(first.results).toEqual(YAML.parse(readFileSync(join(dir, 'results.yaml'), 'utf8')) ?? []);

        const second = run(name, first.items, config);
        expect(second.items).toEqual(first.items);
        expect(second.results).toEqual(first.results);
      });
    }
  });
}
