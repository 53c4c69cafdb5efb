/**
 * Versioned migrations from ./migrations/ (NNN_name.ts, one SQL script each). All pending versions run in
 * one transaction under an advisory lock, so replicas starting together apply each version once, and a
 * failed version leaves nothing half-applied. Already-applied versions are skipped: running twice is a no-op.
 */
import type { SqlDriver } from './driver.ts';
import { MIGRATIONS } from './migrations/index.ts';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Returns the versions this call applied. */
export async function migrate(driver: SqlDriver, all: readonly Migration[] = MIGRATIONS): Promise<number[]> {
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

/**
 * The versions not yet applied in this schema (all of them before the first migration). A gateway whose
 * schema is behind is not ready: in a cluster it may start before the migration Job has finished.
 */
export async function pendingMigrations(driver: SqlDriver, all: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const exists = await driver.query(`select 1 from information_schema.tables where table_schema = current_schema() and table_name = 'schema_migrations'`);
  if (exists.length === 0) return all.map((m) => m.version);
  const applied = new Set((await driver.query('select version from schema_migrations')).map((r) => Number(r.version)));
  return all.filter((m) => !applied.has(m.version)).map((m) => m.version);
}
