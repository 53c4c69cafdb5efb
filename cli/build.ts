/**
 * The bundles the images run (`make build`, the Dockerfile), both targeting the Node of package.json `engines`:
 *   <out>/asya.js (+ chunks)   the whole CLI; dependencies stay in node_modules (the full image copies them)
 *   <out>/sidecar/             the sidecar image's contents: `asya sidecar|crew|runtime|version` with every
 *                              dependency inside, the crew handlers as JavaScript, and no node_modules at all
 *   <out>/pglite/              the embedded store's new data directory: initdb's result, migrated (gateway/store/pglite-template.ts)
 * The sidecar bundle leaves out what a sidecar never runs; SIDECAR_EXCLUDED stay unresolved imports, and
 * cli/build.test.ts checks no code of theirs got in. Usage: npx tsx cli/build.ts [out-dir] [part ...] (default dist,
 * every part: cli, sidecar, pglite).
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build, type Metafile, type Plugin } from 'esbuild';
import pkg from '../package.json' with { type: 'json' };
import { nodeTarget } from '../krm-functions/build.ts';
import { externalPackagesExcept, zodEnglishOnly } from '../krm-functions/bundle-plugins.ts';
import { writePgliteTemplate } from '../gateway/store/pglite.ts';

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

/**
 * Builds the sidecar image's /app into `<outDir>/sidecar` and answers esbuild's metafile. `plugins` run before
 * the bundle's own (bench/memory/without-libraries.ts swaps libraries out with one).
 */
export async function buildSidecar(outDir: string, plugins: Plugin[] = []): Promise<Metafile> {
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
    plugins: [...plugins, zodEnglishOnly],
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

/**
 * Writes `<outDir>/pglite/` and removes any other template beside it (another PGlite's or migrations'). It is replaced
 * by a rename, never removed first: a gateway of this checkout (a test, while `npm pack` rebuilds it) may be
 * reading it.
 */
export async function buildPgliteTemplate(outDir: string): Promise<string> {
  const dir = join(outDir, 'pglite');
  const file = await writePgliteTemplate(dir);
  for (const entry of readdirSync(dir)) if (join(dir, entry) !== file) rmSync(join(dir, entry), { force: true });
  return file;
}

const PARTS = {
  cli: async (outDir: string) => {
    await buildCli(outDir);
    return join(outDir, 'asya.js');
  },
  sidecar: async (outDir: string) => {
    await buildSidecar(outDir);
    return `${join(outDir, 'sidecar')}/`;
  },
  pglite: buildPgliteTemplate,
};

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const [outArg, ...named] = process.argv.slice(2);
  const outDir = resolve(outArg ?? join(ROOT, 'dist'));
  const unknown = named.filter((part) => !(part in PARTS));
  if (unknown.length > 0) {
    process.stderr.write(`cli/build.ts: unknown part ${unknown.join(', ')} (parts: ${Object.keys(PARTS).join(', ')})\n`);
    process.exit(2);
  }
  mkdirSync(outDir, { recursive: true });
  for (const part of named.length > 0 ? named : Object.keys(PARTS)) {
    process.stdout.write(`built ${await PARTS[part as keyof typeof PARTS](outDir)}\n`);
  }
}
