/**
 * The embedded store for `asya dev`: PGlite (PostgreSQL compiled to wasm) in this process, running the same
 * migrations and SQL as production. It uses PGlite's direct API; LISTEN/NOTIFY does not cross pglite-socket.
 *
 * One process owns a data directory, and PGlite runs one query at a time, so "several replicas" does not
 * apply: transactions simply queue, and SKIP LOCKED never has anything to skip.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { Row, SqlDriver, SqlExecutor, SqlParam } from './driver.ts';
import { migrate } from './migrate.ts';
import { channelFor, SqlEnvelopeStore } from './sql-store.ts';
import { StoreUnavailableError, type EnvelopeStore } from './store.ts';

export interface PgliteStoreOptions {
  /** Directory that keeps the database between runs. @default in memory, gone on close */
  dataDir?: string;
  /** Apply pending migrations on open. @default true */
  migrate?: boolean;
  onBackgroundError?: (error: unknown) => void;
}

/**
 * PostgreSQL's server defaults size its caches for a machine of its own: 128 MB of shared buffers alone,
 * which PGlite holds in this process's wasm memory as soon as they are touched. A development gateway's
 * working set is a few MB, so these keep its idle RSS low (docs/performance.md: the embedded gateway).
 */
const EMBEDDED_POSTGRESQL_CONF = ['shared_buffers = 16MB', 'wal_buffers = 1MB', 'work_mem = 2MB', 'maintenance_work_mem = 8MB', 'temp_buffers = 2MB'];

export async function openPgliteStore(options: PgliteStoreOptions = {}): Promise<EnvelopeStore> {
  const settings = { postgresqlconf: EMBEDDED_POSTGRESQL_CONF };
  const db = options.dataDir ? await PGlite.create(options.dataDir, settings) : await PGlite.create(settings);
  const driver = new PgliteDriver(db);
  try {
    if (options.migrate ?? true) await migrate(driver);
  } catch (err) {
    await driver.close();
    throw err;
  }
  collectStartupGarbage();
  return new SqlEnvelopeStore(driver, channelFor(), options.onBackgroundError);
}

/** After boot, in ms: PGlite lets go of its boot buffers a few turns after create() resolved. */
const STARTUP_GARBAGE_DELAY_MS = 1_000;

/**
 * Starting PGlite leaves about 300 MB of buffers behind (initdb's wasm memory, the bundled file system
 * image), unreachable but outside the JS heap, so an idle gateway, which allocates next to nothing, never
 * triggers the collection that would free them. One full collection a moment after boot does; `gc` is
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

  constructor(private readonly db: PGlite) {
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
    await this.db.close();
  }

  private assertOpen(): void {
    if (this.db.closed) throw new StoreUnavailableError(new Error('the embedded database is closed'));
  }
}
