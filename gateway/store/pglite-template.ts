/**
 * The embedded store's new data directory, made once at build time instead of at every start.
 *
 * A PGlite that finds no database runs initdb in a second wasm instance first: five seconds here, a peak of
 * 650–820 MiB, and about 100 MiB it never gives back (docs/performance.md, "Memory"). `make build` and
 * `npm pack` (cli/build.ts) save initdb's result with the migrations applied as a gzipped tar (`dist/pglite/`;
 * pglite.ts writes it); a new store unpacks it into its directory and PGlite resumes it as if it had been
 * there all along. Without the file (sources run before any build) a store runs initdb as before.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import type { Migration } from './migrate.ts';
import { MIGRATIONS } from './migrations/index.ts';

/** Where the build puts it: `dist/pglite` of the checkout or package (sources), or beside the bundle's chunks. */
const TEMPLATE_DIRS = [fileURLToPath(new URL('../../dist/pglite/', import.meta.url)), fileURLToPath(new URL('./pglite/', import.meta.url))];

/** The installed PGlite's version: a template from another version's initdb may not be one this one reads. */
export function pgliteVersion(): string {
  let dir = dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      const { name, version } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; version?: string };
      if (name === '@electric-sql/pglite' && version) return version;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the version of @electric-sql/pglite');
    dir = parent;
  }
}

/**
 * The template's name: the PGlite version whose initdb made it, and the migrations applied to it, so a build
 * from other sources (a migration added or edited since) never hands a store a schema it does not expect.
 */
export function templateFileName(version = pgliteVersion(), migrations: readonly Migration[] = MIGRATIONS): string {
  const schema = createHash('sha256').update(JSON.stringify(migrations)).digest('hex').slice(0, 12);
  return `pgdata-pglite-${version}-schema-${schema}.tar.gz`;
}

/** The build's template for the installed PGlite and these sources' migrations, or undefined when there is none. */
export function findPgliteTemplate(): string | undefined {
  const name = templateFileName();
  return TEMPLATE_DIRS.map((dir) => join(dir, name)).find((file) => existsSync(file));
}

/** Writes a gzipped tar of a data directory as `<outDir>/<templateFileName()>`, replacing any by a rename. */
export function writeTemplateFile(outDir: string, tarGz: Uint8Array): string {
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, templateFileName());
  writeFileSync(`${file}.${process.pid}.tmp`, tarGz);
  renameSync(`${file}.${process.pid}.tmp`, file);
  return file;
}

/** A data directory PGlite would initialise: absent or empty. One with anything in it is left to PGlite. */
export function isNewDataDir(dir: string): boolean {
  return !existsSync(dir) || readdirSync(dir).length === 0;
}

const BLOCK = 512;

/**
 * Unpacks the template into `dir`. The tar is one PGlite wrote (ustar: regular files and directories, paths
 * rooted at "/"); anything else in it, or a path leaving `dir`, means the file is not one, and is refused.
 */
export function unpackTemplate(file: string, dir: string): void {
  let tar: Buffer;
  try {
    tar = gunzipSync(readFileSync(file));
  } catch (err) {
    throw new Error(`the embedded database's template ${file} is not a gzipped tar (${(err as Error).message}); rebuild it with \`make build\``);
  }
  const root = resolve(dir);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  for (let at = 0; at + BLOCK <= tar.length; ) {
    const header = tar.subarray(at, at + BLOCK);
    if (header.every((byte) => byte === 0)) break;
    const name = field(header, 345, 155) ? `${field(header, 345, 155)}/${field(header, 0, 100)}` : field(header, 0, 100);
    const size = Number.parseInt(field(header, 124, 12) || '0', 8);
    const mode = Number.parseInt(field(header, 100, 8) || '600', 8) & 0o777;
    const type = String.fromCharCode(header[156] ?? 0);
    const target = resolve(root, `.${sep}${name.replace(/^\/+/, '')}`);
    if (target !== root && !target.startsWith(root + sep)) throw new Error(`the template ${file} names a path outside the data directory: ${name}`);
    const body = at + BLOCK;
    if (type === '5') mkdirSync(target, { recursive: true, mode });
    else if (type === '0' || type === '\0') {
      mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
      writeFileSync(target, tar.subarray(body, body + size), { mode });
    } else throw new Error(`the template ${file} holds an entry of tar type '${type}' (${name}), which PGlite does not write`);
    at = body + Math.ceil(size / BLOCK) * BLOCK;
  }
}

/** A NUL-terminated ASCII field of a tar header. */
function field(header: Buffer, offset: number, length: number): string {
  const bytes = header.subarray(offset, offset + length);
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end === -1 ? length : end).toString('latin1').trim();
}
