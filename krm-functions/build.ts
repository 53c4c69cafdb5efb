/**
 * Bundles each KRM function into one self-contained executable (`#!/usr/bin/env node`, CommonJS, every
 * dependency and asya_runtime.py inside), then lays out copies for kustomize's legacy plugin loader:
 *   <out>/<function>.cjs
 *   <out>/kustomize-plugins/fn.asya.sh/v1alpha1/<lowercase kind>/<Kind>
 * Usage: npx tsx krm-functions/build.ts [out-dir]   (default dist/krm; `make krm`)
 */
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import pkg from '../package.json' with { type: 'json' };
import { noBrokerClients, zodEnglishOnly } from './bundle-plugins.ts';

const ROOT = resolve(import.meta.dirname, '..');

/** esbuild's target for every bundle: the oldest Node the package supports (package.json `engines`, e.g. `>=22` → `node22`). */
export function nodeTarget(engines: string = pkg.engines.node): string {
  const major = /^>=\s*(\d+)/.exec(engines)?.[1];
  if (!major) throw new Error(`package.json engines.node must read ">=<major>", got "${engines}"`);
  return `node${major}`;
}
export const KRM_FUNCTIONS = { 'inject-sidecar': 'InjectSidecar', 'keda-scaler': 'KedaScaler' } as const;

export async function buildKrmFunctions(outDir: string): Promise<Record<keyof typeof KRM_FUNCTIONS, string>> {
  const script = readFileSync(join(ROOT, 'runtime/python/asya_runtime.py'), 'utf8');
  const out = {} as Record<keyof typeof KRM_FUNCTIONS, string>;
  for (const [name, kind] of Object.entries(KRM_FUNCTIONS) as [keyof typeof KRM_FUNCTIONS, string][]) {
    const file = join(outDir, `${name}.cjs`);
    await build({
      entryPoints: [join(ROOT, 'krm-functions', name, 'main.ts')],
      outfile: file,
      bundle: true,
      platform: 'node',
      target: nodeTarget(),
      format: 'cjs',
      banner: { js: '#!/usr/bin/env node' },
      define: { __ASYA_RUNTIME_SCRIPT__: JSON.stringify(script), 'import.meta.url': '"file:///asya-krm-bundle.cjs"' },
      plugins: [zodEnglishOnly, noBrokerClients],
      logLevel: 'error',
    });
    chmodSync(file, 0o755);
    const pluginDir = join(outDir, 'kustomize-plugins', 'fn.asya.sh', 'v1alpha1', kind.toLowerCase());
    mkdirSync(pluginDir, { recursive: true });
    copyFileSync(file, join(pluginDir, kind));
    chmodSync(join(pluginDir, kind), 0o755);
    out[name] = file;
  }
  // The plugin files have no extension, so Node takes their module type from the nearest package.json;
  // inside this repository (or any ESM project) that would make the CommonJS bundle fail to load.
  writeFileSync(join(outDir, 'kustomize-plugins', 'package.json'), '{ "type": "commonjs" }\n');
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const outDir = resolve(process.argv[2] ?? join(ROOT, 'dist/krm'));
  const files = await buildKrmFunctions(outDir);
  for (const file of Object.values(files)) process.stdout.write(`built ${file}\n`);
}
