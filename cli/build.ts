/**
 * The bundles the images run (`make build`, the Dockerfile), both targeting the Node of package.json `engines`:
 *   <out>/asya.js (+ chunks)   the whole CLI; dependencies stay in node_modules (the full image copies them)
 *   <out>/sidecar/             the sidecar image's contents: `asya sidecar|crew|runtime|version` with every
 *                              dependency inside, the crew handlers as JavaScript, and no node_modules at all
 * The sidecar bundle leaves out what a sidecar never runs; SIDECAR_EXCLUDED stay unresolved imports, and
 * cli/build.test.ts checks no code of theirs got in. Usage: npx tsx cli/build.ts [out-dir] (default dist).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build, type Metafile } from 'esbuild';
import pkg from '../package.json' with { type: 'json' };
import { nodeTarget } from '../krm-functions/build.ts';
import { externalPackagesExcept, zodEnglishOnly } from '../krm-functions/bundle-plugins.ts';

const ROOT = resolve(import.meta.dirname, '..');

/**
 * Never needed by a sidecar or the crew: the embedded database (the gateway's), cdk8s (synth), the Kubernetes
 * client (the controller), esbuild and tsx (TypeScript handlers, which run in the full image's `asya runtime`).
 */
export const SIDECAR_EXCLUDED = ['@electric-sql/pglite', 'cdk8s', 'cdk8s-plus-33', '@kubernetes/client-node', 'esbuild', 'tsx'] as const;

// CommonJS dependencies (amqplib, the AWS SDK) call require(); an ES module bundle has none of its own.
const REQUIRE_SHIM = "import { createRequire as __asyaCreateRequire } from 'node:module'; const require = __asyaCreateRequire(import.meta.url);";

/**
 * Inside the full bundle although node_modules ship beside it: every process loads it at start (the logger
 * reads the active span through it), as 52 ES modules from node_modules, about as many files as the rest of
 * a runtime's start. A second copy is safe: the API keeps one registry per process on a global symbol, so
 * the tracing SDK in node_modules and this copy see the same spans.
 */
export const BUNDLED_IN_CLI = ['@opentelemetry/api'] as const;

export async function buildCli(outDir: string): Promise<void> {
  for (const name of ['asya.js', 'asya.js.map']) rmSync(join(outDir, name), { force: true });
  await build({
    entryPoints: [join(ROOT, 'cli/bin.ts')],
    bundle: true,
    splitting: true,
    platform: 'node',
    target: nodeTarget(),
    format: 'esm',
    plugins: [externalPackagesExcept(BUNDLED_IN_CLI)],
    outdir: outDir,
    entryNames: 'asya',
    logLevel: 'warning',
  });
}

/** Builds the sidecar image's /app into `<outDir>/sidecar` and answers esbuild's metafile. */
export async function buildSidecar(outDir: string): Promise<Metafile> {
  const dir = join(outDir, 'sidecar');
  rmSync(dir, { recursive: true, force: true });
  const result = await build({
    entryPoints: [
      { in: join(ROOT, 'cli/sidecar-bin.ts'), out: 'dist/asya' },
      { in: join(ROOT, 'crew/happy-end.ts'), out: 'crew/happy-end' },
      { in: join(ROOT, 'crew/error-end.ts'), out: 'crew/error-end' },
      { in: join(ROOT, 'crew/fan-in.ts'), out: 'crew/fan-in' },
    ],
    bundle: true,
    splitting: true,
    platform: 'node',
    target: nodeTarget(),
    format: 'esm',
    external: [...SIDECAR_EXCLUDED.flatMap((name) => [name, `${name}/*`])],
    banner: { js: REQUIRE_SHIM },
    plugins: [zodEnglishOnly],
    outdir: dir,
    // Beside the entry, as in the full bundle: cli/crew.ts finds /app/crew as ../crew from its own chunk.
    chunkNames: 'dist/[name]-[hash]',
    metafile: true,
    logLevel: 'warning',
  });
  // `asya version` reads ../package.json beside dist/; "type": "module" makes the .js files ES modules.
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: pkg.name, version: pkg.version, type: 'module', private: true }, null, 2)}\n`);
  return result.metafile;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const outDir = resolve(process.argv[2] ?? join(ROOT, 'dist'));
  mkdirSync(outDir, { recursive: true });
  await buildCli(outDir);
  await buildSidecar(outDir);
  process.stdout.write(`built ${join(outDir, 'asya.js')} and ${join(outDir, 'sidecar')}/\n`);
}
