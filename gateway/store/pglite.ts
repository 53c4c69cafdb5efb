/**
 * The embedded store for `asya dev`: PGlite (PostgreSQL compiled to wasm) in this process, running the same
 * migrations and SQL as production. It uses PGlite's direct API; LISTEN/NOTIFY does not cross pglite-socket.
 *
 * One process owns a data directory, and PGlite runs one query at a time, so "several replicas" does not
 * apply: transactions simply queue, and SKIP LOCKED never has anything to skip.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { Row, SqlDriver, SqlExecutor, SqlParam } from './driver.ts';
import { migrate } from './migrate.ts';
import { isProcessAlive } from './process-alive.ts';
import { findPgliteTemplate, isNewDataDir, unpackTemplate, writeTemplateFile } from './pglite-template.ts';
import { channelFor, SqlEnvelopeStore } from './sql-store.ts';
import { StoreUnavailableError, type EnvelopeStore } from './store.ts';

export interface PgliteStoreOptions {
  /** Directory that keeps the database between runs. @default none: the database is gone on close */
  dataDir?: string;
  /** Apply pending migrations on open. @default true */
  migrate?: boolean;
  onBackgroundError?: (error: unknown) => void;
  /**
   * initdb's result to start a new database from (pglite-template.ts); `false` runs initdb instead.
   * @default the build's template for the installed PGlite, when there is one
   */
  template?: string | false;
}

/**
 * PostgreSQL's server defaults size its caches for a machine of its own: 128 MB of shared buffers alone,
 * which PGlite holds in this process's wasm memory as soon as they are touched. A development gateway's
 * working set is a few MB, so these keep its idle RSS low (docs/performance.md: the embedded gateway).
 */
const EMBEDDED_POSTGRESQL_CONF = ['shared_buffers = 16MB', 'wal_buffers = 1MB', 'work_mem = 2MB', 'maintenance_work_mem = 8MB', 'temp_buffers = 2MB'];

export async function openPgliteStore(options: PgliteStoreOptions = {}): Promise<EnvelopeStore> {
  const settings = { postgresqlconf: EMBEDDED_POSTGRESQL_CONF };
  const template = options.template === undefined ? findPgliteTemplate() : options.template || undefined;
  const place = placeData(options.dataDir, template);
  let db: PGlite;
  try {
    db = place.dir ? await PGlite.create(place.dir, settings) : await PGlite.create(settings);
  } catch (err) {
    place.release();
    throw err;
  }
  const driver = new PgliteDriver(db, place.release);
  try {
    if (options.migrate ?? true) await migrate(driver);
  } catch (err) {
    await driver.close();
    throw err;
  }
  collectStartupGarbage();
  return new SqlEnvelopeStore(driver, channelFor(), options.onBackgroundError);
}

/**
 * Runs initdb and the migrations once, in memory, and writes the data directory as the template new stores
 * start from (pglite-template.ts). Answers the file written.
 */
export async function writePgliteTemplate(outDir: string): Promise<string> {
  const db = await PGlite.create({ postgresqlconf: EMBEDDED_POSTGRESQL_CONF });
  const driver = new PgliteDriver(db, () => {});
  try {
    await migrate(driver);
    return writeTemplateFile(outDir, new Uint8Array(await (await db.dumpDataDir('gzip')).arrayBuffer()));
  } finally {
    await driver.close();
  }
}

interface DataPlace {
  /** PGlite's data directory; undefined keeps the database in wasm memory. */
  dir?: string;
  /** Called once the database is closed (or failed to open): removes what only this store used. */
  release(): void;
}

/** Scratch directories of stores "in memory" that start from the template: `asya-pglite-mem-<pid>-<random>`. */
const SCRATCH_PREFIX = 'asya-pglite-mem-';

/**
 * Where the database lives. A new data directory starts from the template. A store without one starts from
 * the template too, in a scratch directory removed on close (and at exit): PGlite's in-memory file system
 * would hold the 40 MB data directory in the heap, where on disk it costs only the pages in use, so this is
 * what keeps an idle `asya dev` gateway under 250 MiB (docs/performance.md). With no template, the database
 * stays in memory and PGlite runs initdb, as before.
 */
function placeData(dataDir: string | undefined, template: string | undefined): DataPlace {
  const nothing = () => {};
  if (dataDir) {
    if (template && isNewDataDir(dataDir)) {
      const existed = existsSync(dataDir);
      try {
        unpackTemplate(template, dataDir);
      } catch (err) {
        // The directory was absent or empty before: whatever is in it now came from this unpacking.
        if (!existed) rmSync(dataDir, { recursive: true, force: true });
        else for (const entry of readdirSync(dataDir)) rmSync(join(dataDir, entry), { recursive: true, force: true });
        throw err;
      }
    }
    return { dir: dataDir, release: nothing };
  }
  if (!template) return { release: nothing };
  removeOrphanedScratch();
  const dir = mkdtempSync(join(tmpdir(), `${SCRATCH_PREFIX}${process.pid}-`));
  if (openScratch.size === 0) process.once('exit', removeOpenScratch);
  openScratch.add(dir);
  const release = () => {
    openScratch.delete(dir);
    if (openScratch.size === 0) process.off('exit', removeOpenScratch);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    unpackTemplate(template, dir);
  } catch (err) {
    release();
    throw err;
  }
  return { dir, release };
}

/** This process's scratch directories not yet removed: an exit without close removes them. */
const openScratch = new Set<string>();

function removeOpenScratch(): void {
  for (const dir of openScratch) rmSync(dir, { recursive: true, force: true });
}

/** Scratch directories whose process is gone (killed before it could remove its own). */
function removeOrphanedScratch(): void {
  const pattern = new RegExp(`^${SCRATCH_PREFIX}(\\d+)-`);
  for (const entry of readdirSync(tmpdir())) {
    const pid = Number(pattern.exec(entry)?.[1]);
    if (!pid || pid === process.pid || isProcessAlive(pid)) continue;
    try {
      rmSync(join(tmpdir(), entry), { recursive: true, force: true });
    } catch {
      // Another user's, or another process sweeping it too: not this store's to fail over.
    }
  }
}

/** After boot, in ms: PGlite lets go of its boot buffers a few turns after create() resolved. */
const STARTUP_GARBAGE_DELAY_MS = 1_000;

/**
 * Starting PGlite leaves buffers behind (the bundled file system image, and about 300 MB more when it ran
 * initdb for want of a template), unreachable but outside the JS heap, so an idle gateway, which allocates
 * next to nothing, never triggers the collection that would free them. One full collection a moment after boot does; `gc` is
 * taken from a fresh context once the flag is set, which leaves the process's own global untouched.
 */
function collectStartupGarbage(): void {
  setTimeout(() => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
  }, STARTUP_GARBAGE_DELAY_MS).unref();
}

function executor(db: PGlite | Transaction): SqlExecutor {
  return {
    async query(text, params = []) {
      const result = await db.query<Row>(text, [...params]);
      return result.rows;
    },
    async exec(script) {
      await db.exec(script);
    },
  };
}

class PgliteDriver implements SqlDriver {
  private readonly direct: SqlExecutor;
  private readonly unlisteners: Array<() => Promise<void>> = [];

  constructor(
    private readonly db: PGlite,
    private readonly release: () => void,
  ) {
    this.direct = executor(db);
  }

  query(text: string, params?: readonly SqlParam[]): Promise<Row[]> {
    this.assertOpen();
    return this.direct.query(text, params);
  }

  exec(script: string): Promise<void> {
    this.assertOpen();
    return this.direct.exec(script);
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    this.assertOpen();
    return this.db.transaction((tx) => fn(executor(tx)));
  }

  /** In-process notifications cannot be lost to a dropped connection, so onResumed never fires. */
  async listen(channel: string, onNotify: (payload: string) => void): Promise<void> {
    this.assertOpen();
    this.unlisteners.push(await this.db.listen(channel, onNotify));
  }

  async ping(): Promise<boolean> {
    if (this.db.closed) return false;
    try {
      await this.db.query('select 1');
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.db.closed) return;
    for (const unlisten of this.unlisteners.splice(0)) await unlisten().catch(() => {});
    try {
      await this.db.close();
    } finally {
      this.release();
    }
  }

  private assertOpen(): void {
    if (this.db.closed) throw new StoreUnavailableError(new Error('the embedded database is closed'));
  }
}
