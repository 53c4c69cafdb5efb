/**
 * What each image would hold on top of its base (node:22-bookworm-slim), measured from the files its Dockerfile
 * copies: images cannot be built here (no container engine), so this sums the bytes that would go in.
 *   asya (full)          package.json, production node_modules, dist/*.js, the Python runtime, crew/ protocol/ api/
 *   asya-sidecar         dist/sidecar/ (cli/build.ts)
 *   asya-<krm function>  dist/krm/<function>.cjs
 * The bundles are built afresh into a temporary directory. Usage: npx tsx bench/images/run.ts  (make image-sizes)
 */
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { buildCli, buildSidecar } from '../../cli/build.ts';
import { buildKrmFunctions } from '../../krm-functions/build.ts';

const ROOT = resolve(import.meta.dirname, '../..');

/** Bytes of the files under `path` (a file or a folder), not descending into folders named in `skip`. */
function bytes(path: string, skip: ReadonlySet<string> = new Set()): number {
  const stat = lstatSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, name) => (skip.has(name) ? sum : sum + bytes(join(path, name), skip)), 0);
}

/** Every installed production package (what `npm prune --omit=dev` keeps) with its own bytes, nested node_modules apart. */
function productionPackages(): { name: string; bytes: number }[] {
  const out = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const dirs = [...new Set(out.split('\n').filter((line) => line && resolve(line) !== ROOT))];
  return dirs.map((dir) => ({ name: relative(join(ROOT, 'node_modules'), dir), bytes: bytes(dir, new Set(['node_modules'])) }));
}

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;

const work = mkdtempSync(join(tmpdir(), 'asya-image-sizes-'));
try {
  await buildCli(work);
  await buildSidecar(work);
  const krm = await buildKrmFunctions(join(work, 'krm'));
  const packages = productionPackages().sort((a, b) => b.bytes - a.bytes);
  const modules = packages.reduce((sum, p) => sum + p.bytes, 0);
  const cliBundle = readdirSync(work).filter((f) => f.endsWith('.js')).reduce((sum, f) => sum + bytes(join(work, f)), 0);
  const source = ['package.json', 'runtime/python/asya_runtime.py', 'crew', 'protocol', 'api'].reduce((sum, p) => sum + bytes(join(ROOT, p)), 0);
  const rows: [string, number, string][] = [
    ['asya (full)', modules + cliBundle + source, `node_modules ${mb(modules)} (${packages.length} packages), CLI bundle ${mb(cliBundle)}, source files ${mb(source)}`],
    ['asya-sidecar (--target sidecar)', bytes(join(work, 'sidecar')), 'one bundle with its dependencies, the crew handlers; no node_modules'],
    ...Object.entries(krm).map(([name, file]): [string, number, string] => [`asya-${name} (krm-functions/Dockerfile)`, bytes(file), 'one self-contained file']),
  ];
  process.stdout.write('Image contents on top of node:22-bookworm-slim (the base image itself is not measured here)\n\n| image | bytes added | of which |\n|---|---|---|\n');
  for (const [image, size, detail] of rows) process.stdout.write(`| ${image} | ${mb(size)} | ${detail} |\n`);
  process.stdout.write('\nLargest production packages in the full image:\n');
  for (const p of packages.slice(0, 8)) process.stdout.write(`  ${mb(p.bytes).padStart(8)}  ${p.name}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
