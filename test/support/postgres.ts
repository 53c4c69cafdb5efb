/**
 * PostgreSQL helpers for tests. Every test file gets its own schema on the shared server, so files running
 * in parallel never see each other's rows or notifications; the schema is dropped when the file ends.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { startTcpRelay, type TcpRelay } from './tcp-relay.ts';

export const testDatabaseUrl =
  process.env.ASYA_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestSchema {
  /** Lower-case, starts with the given prefix, unique per call. */
  readonly name: string;
  readonly url: string;
  /** Drops the schema and everything in it. Safe to call twice. */
  drop(): Promise<void>;
}

export async function createTestSchema(prefix = 'asya_test', url = testDatabaseUrl): Promise<TestSchema> {
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`.toLowerCase();
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await admin`create schema ${admin(name)}`;
  } finally {
    await admin.end();
  }
  let dropped = false;
  return {
    name,
    url,
    async drop() {
      if (dropped) return;
      dropped = true;
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      try {
        await sql`drop schema if exists ${sql(name)} cascade`;
      } finally {
        await sql.end();
      }
    },
  };
}

/**
 * Kills every server backend whose application_name matches, the way a failover or an admin's
 * pg_terminate_backend does. Returns how many were terminated.
 */
export async function terminateBackends(applicationName: string, url = testDatabaseUrl): Promise<number> {
  return withBackendsOf(applicationName, url, async (sql, pids) => {
    for (const pid of pids) await sql`select pg_terminate_backend(${pid})`;
    return pids.length;
  });
}

/** Kills one of those backends, picked at random (a connection lost mid-traffic); returns how many it killed. */
export async function terminateOneBackend(applicationName: string, url = testDatabaseUrl): Promise<number> {
  return withBackendsOf(applicationName, url, async (sql, pids) => {
    const pid = pids[Math.floor(Math.random() * pids.length)];
    if (pid === undefined) return 0;
    await sql`select pg_terminate_backend(${pid})`;
    return 1;
  });
}

/** How many connections a client with this application name has open now. */
export function countBackends(applicationName: string, url = testDatabaseUrl): Promise<number> {
  return withBackendsOf(applicationName, url, async (_, pids) => pids.length);
}

async function withBackendsOf<T>(applicationName: string, url: string, use: (sql: postgres.Sql, pids: number[]) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql<{ pid: number }[]>`
      select pid from pg_stat_activity
      where application_name = ${applicationName} and pid <> pg_backend_pid()`;
    return await use(sql, rows.map((r) => r.pid));
  } finally {
    await sql.end();
  }
}

/**
 * A relay in front of the shared server that a test can take down and bring back (tcp-relay.ts). This
 * stands in for stopping a private cluster: we run as root here, where initdb refuses to start, and a relay
 * cannot disturb other test files.
 */
export type PostgresOutage = TcpRelay;

export function startOutageRelay(targetUrl = testDatabaseUrl): Promise<PostgresOutage> {
  return startTcpRelay(targetUrl, 5432);
}
