import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { stringify, type KubeObject } from '../../krm-functions/resource-list.ts';

const KRM_FUNCTIONS_DIR = join(import.meta.dirname, '../../krm-functions');
export const SCRIPT_PLACEHOLDER = '<runtime/python/asya_runtime.py>';

/** Whether golden tests rewrite their expected files (UPDATE_GOLDEN=1) instead of comparing against them. */
export function updateGolden(env: Record<string, string | undefined> = process.env): boolean {
  if (env.UPDATE_GOLDEN !== '1') return false;
  // Rewriting makes every golden test pass, so on CI it would hide any change in output.
  if (env.CI) throw new Error('UPDATE_GOLDEN=1 rewrites the expected files, so it refuses to run where CI is set');
  return true;
}

/** A YAML stream as plain values, empty documents left out. */
export function readStream(path: string): unknown[] {
  return YAML.parseAllDocuments(readFileSync(path, 'utf8'))
    .map((d) => d.toJS() as unknown)
    .filter((v) => v !== null);
}

/** One golden case of a KRM function: krm-functions/<fn>/testdata/<name>/. */
export interface GoldenCase {
  fn: string;
  name: string;
  dir: string;
}

export function goldenCases(fn: string): GoldenCase[] {
  const root = join(KRM_FUNCTIONS_DIR, fn, 'testdata');
  return readdirSync(root).sort().map((name) => ({ fn, name, dir: join(root, name) }));
}

/** The case's config.yaml, or undefined when the case runs without a functionConfig. */
export function goldenConfig(dir: string): unknown {
  return existsSync(join(dir, 'config.yaml')) ? readStream(join(dir, 'config.yaml'))[0] : undefined;
}

/** The ResourceList a function reads for these items and config, as text on its stdin. */
export function resourceListText(items: unknown[], config: unknown): string {
  return stringify({ apiVersion: 'config.kubernetes.io/v1', kind: 'ResourceList', items, ...(config !== undefined ? { functionConfig: config } : {}) });
}

/**
 * Items as the expected files show them: the runtime ConfigMap's script (checked against runtimeScript()
 * by the caller through `scripts`) replaced by a placeholder, so editing the runtime rewrites no golden file.
 */
export function withScriptPlaceholder(items: KubeObject[]): { items: KubeObject[]; scripts: string[] } {
  const scripts: string[] = [];
  const replaced = items.map((item) => {
    const data = item.data as Record<string, string> | undefined;
    if (item.kind !== 'ConfigMap' || data?.['asya_runtime.py'] === undefined) return item;
    scripts.push(data['asya_runtime.py']);
    return { ...item, data: { ...data, 'asya_runtime.py': SCRIPT_PLACEHOLDER } };
  });
  return { items: replaced, scripts };
}
