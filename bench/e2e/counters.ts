/**
 * What one envelope costs besides time: rows written per table (PostgreSQL's per-table statistics of the
 * pipeline's own schema, so other clients of the shared server never count), HTTP requests by route and
 * broker messages (from the Prometheus text of the gateway and the sidecars); and the tables' ANALYZE.
 */
import type { Sql } from 'postgres';

export type Counts = Record<string, number>;

/**
 * Rows inserted, updated and deleted per table of `schema`. PostgreSQL 15 publishes a backend's counts when
 * it goes idle, at most once a second, and an idle backend's last ones up to 10 s later: read the totals
 * only after the pipeline has been idle that long (see settleStatistics).
 */
export async function rowWrites(sql: Sql, schema: string): Promise<Counts> {
  const rows = await sql<Array<{ relname: string; ins: string; upd: string; del: string }>>`
    select relname, n_tup_ins::text as ins, n_tup_upd::text as upd, n_tup_del::text as del
    from pg_stat_user_tables where schemaname = ${schema}`;
  const counts: Counts = {};
  for (const r of rows) {
    counts[`${r.relname} insert`] = Number(r.ins);
    counts[`${r.relname} update`] = Number(r.upd);
    counts[`${r.relname} delete`] = Number(r.del);
  }
  return counts;
}

/**
 * Index and sequential scans per table of `schema` (same statistics, same delay as rowWrites): every lookup by
 * id, row lock, update, event read and foreign-key check is one, so their count per envelope follows the
 * statements the gateway runs, which the shared server cannot count (no pg_stat_statements).
 */
export async function tableScans(sql: Sql, schema: string): Promise<Counts> {
  const rows = await sql<Array<{ relname: string; idx: string | null; seq: string }>>`
    select relname, idx_scan::text as idx, seq_scan::text as seq
    from pg_stat_user_tables where schemaname = ${schema}`;
  const counts: Counts = {};
  for (const r of rows) {
    counts[`${r.relname} index`] = Number(r.idx ?? 0);
    counts[`${r.relname} sequential`] = Number(r.seq);
  }
  return counts;
}

/**
 * ANALYZE of every table of `schema`: the planner's statistics as autovacuum keeps them in a running
 * installation. Autovacuum may be off on a shared test server (it is on this machine's), and then every plan
 * is made, and cached by each prepared statement, for tables it takes to be nearly empty. ANALYZE also makes
 * every cached plan on those tables be made again.
 */
export async function analyzeSchema(sql: Sql, schema: string): Promise<void> {
  const tables = await sql<Array<{ tablename: string }>>`select tablename from pg_tables where schemaname = ${schema}`;
  for (const { tablename } of tables) await sql`analyze ${sql(schema)}.${sql(tablename)}`;
}

/** The idle backend's statistics flush (PGSTAT_IDLE_INTERVAL, 10 s), plus a margin. */
export const STATISTICS_SETTLE_MS = 11_000;

/** Sums of a Prometheus text's samples of `metric`, keyed by the value of `label` (or `total`). */
export function sumByLabel(text: string, metric: string, label?: string): Counts {
  const counts: Counts = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith(metric)) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== metric) continue;
    const labels = Object.fromEntries([...(match[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
    const key = label ? (labels[label] ?? '') : 'total';
    counts[key] = (counts[key] ?? 0) + Number(match[4]);
  }
  return counts;
}

export async function scrape(url: string): Promise<string> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
  return res.text();
}

/** after − before, key by key (a key only in `after` counts from 0); zero differences are left out. */
export function delta(before: Counts, after: Counts): Counts {
  const out: Counts = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

export function perEnvelope(counts: Counts, envelopes: number): Counts {
  return Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, envelopes > 0 ? v / envelopes : Number.NaN]));
}

export const total = (counts: Counts): number => Object.values(counts).reduce((a, b) => a + b, 0);
