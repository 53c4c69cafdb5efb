/**
 * The KRM functions as single executable applications (Node's SEA): each bundle (dist/krm/<function>.cjs)
 * injected into a copy of the node binary that builds it, so a machine with no Node.js runs it:
 *   <out>/asya-inject-sidecar, <out>/asya-keda-scaler   (Linux x64 when built here; ~120 MB each)
 * The blob format belongs to one Node version, so the binary that makes the blob (`node --experimental-sea-config`)
 * is the one copied. Usage: npx tsx krm-functions/sea.ts [out-dir]   (default dist/sea; `make sea`)
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildKrmFunctions, KRM_FUNCTIONS } from './build.ts';

const ROOT = resolve(import.meta.dirname, '..');
/** The fuse Node's SEA loader looks for (Node's documentation, "Single executable applications"). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const POSTJECT_CLI = createRequire(import.meta.url).resolve('postject/dist/cli.js');

export type SeaExecutables = Record<keyof typeof KRM_FUNCTIONS, string>;

export async function buildSeaExecutables(outDir: string, node: string = process.execPath): Promise<SeaExecutables> {
  const work = mkdtempSync(join(tmpdir(), 'asya-sea-'));
  try {
    const bundles = await buildKrmFunctions(join(work, 'krm'));
    mkdirSync(outDir, { recursive: true });
    const out = {} as SeaExecutables;
    for (const [name, bundle] of Object.entries(bundles) as [keyof typeof KRM_FUNCTIONS, string][]) {
      const blob = join(work, `${name}.blob`);
      const config = join(work, `${name}.sea.json`);
      writeFileSync(config, JSON.stringify({ main: bundle, output: blob, disableExperimentalSEAWarning: true, useCodeCache: false }));
      execFileSync(node, ['--experimental-sea-config', config], { cwd: work, stdio: 'pipe' });
      const executable = join(outDir, `asya-${name}`);
      rmSync(executable, { force: true });
      copyFileSync(node, executable);
      chmodSync(executable, 0o755);
      // Quiet unless it fails: postject warns about every unnamed ELF note section of the node binary.
      execFileSync(process.execPath, [POSTJECT_CLI, executable, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE], { stdio: 'pipe' });
      out[name] = executable;
    }
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const files = await buildSeaExecutables(resolve(process.argv[2] ?? join(ROOT, 'dist/sea')));
  for (const file of Object.values(files)) process.stdout.write(`built ${file}\n`);
}
