import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { NODE_RUNTIME_SETTINGS, RUNTIME_SETTINGS } from './settings.ts';

const envNames = (table: { settings: Record<string, { options: { env: string } }> }) => Object.values(table.settings).map((s) => s.options.env).sort();

test('asya_runtime.py (stdlib only, so it cannot import the table) reads exactly the declared runtime settings', () => {
  const source = readFileSync(new URL('./python/asya_runtime.py', import.meta.url), 'utf8');
  // Every read goes through env.get("ASYA_…") or _positive_int(env, "ASYA_…", …) in load_config.
  const read = [...source.matchAll(/(?:env\.get\(|_positive_int\(env, )"(ASYA_[A-Z0-9_]+)"/g)].map((m) => m[1]!);
  expect([...new Set(read)].sort()).toEqual(envNames(RUNTIME_SETTINGS));
  // …and warns about the same retired names, for the same reasons.
  const retired = source.slice(source.indexOf('RETIRED_VARIABLES = {'), source.indexOf('}', source.indexOf('RETIRED_VARIABLES = {')));
  const pairs = [...retired.matchAll(/"(ASYA_[A-Z0-9_]+)": "([^"]+)"/g)].map((m) => ({ env: m[1], reason: m[2] }));
  expect(pairs).toEqual(RUNTIME_SETTINGS.retired.map(({ env, reason }) => ({ env, reason })));
  expect(NODE_RUNTIME_SETTINGS.retired).toBe(RUNTIME_SETTINGS.retired);
});

test('the Node runtime reads the same table without the Python-only settings', () => {
  const pythonOnly = Object.values(RUNTIME_SETTINGS.settings).filter((s) => s.options.doc.startsWith('Python only')).map((s) => s.options.env);
  expect(pythonOnly).toEqual(['ASYA_RUNTIME_WORKERS', 'ASYA_CHUNK_SIZE']);
  expect(envNames(NODE_RUNTIME_SETTINGS)).toEqual(envNames(RUNTIME_SETTINGS).filter((name) => !pythonOnly.includes(name)));
});
