/**
 * Versioned migrations from ./migrations/NNN_name.sql. All pending versions run in one transaction under
 * an advisory lock, so replicas starting together apply each version once, and a failed version leaves
 * nothing half-applied. Already-applied versions are skipped: running twice is a no-op.
 */
import { readdir, readFile } from 'node:fs/promises';
import type { SqlDriver } from './driver.ts';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);

export async function loadMigrations(dir: URL = MIGRATIONS_DIR): Promise<Migration[]> {
  const migrations: Migration[] = [];
  for (const file of await readdir(dir)) {
    const match = /^(\d+)_([\w-]+)\.sql$/.exec(file);
    if (!match) continue;
    migrations.push({ version: Number(match[1]), name: match[2] ?? file, sql: await readFile(new URL(file, dir), 'utf8') });
  }
  migrations.sort((a, b) => a.version - b.version);
  migrations.forEach((m, i) => {
    if (i > 0 && migrations[i - 1]?.version === m.version) throw new Error(`duplicate migration version ${m.version}`);
  });
  return migrations;
}

/** Returns the versions this call applied. */
export async function migrate(driver: SqlDriver, migrations?: Migration[]): Promise<number[]> {
  const all = migrations ?? (await loadMigrations());
  return driver.transaction(async (tx) => {
    // Keyed by schema so separate schemas (tests, tenants) never wait on each other.
    await tx.query(`select pg_advisory_xact_lock(hashtext('asya-gateway-migrations:' || current_schema()))`);
    await tx.exec(`create table if not exists schema_migrations (
      version integer primary key,
      name text not null,
      applied_at timestamptz not null default now())`);
    const rows = await tx.query('select version from schema_migrations');
    const applied = new Set(rows.map((r) => Number(r.version)));
    const done: number[] = [];
    for (const m of all) {
      if (applied.has(m.version)) continue;
      await tx.exec(m.sql);
      await tx.query('insert into schema_migrations (version, name) values ($1, $2)', [m.version, m.name]);
      done.push(m.version);
    }
    return done;
  });
}
