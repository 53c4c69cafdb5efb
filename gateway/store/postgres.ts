/**
 * The production store: PostgreSQL through postgres.js. Replicas share state through the tables and see
 * each other's updates through LISTEN/NOTIFY.
 *
 * When the database goes away, every call rejects with StoreUnavailableError (refused connections fail at
 * once, unreachable hosts after connectTimeoutSeconds) and ping() answers false. Once one call found it away,
 * the others fail at once, however many arrive together, until a probe reaches it again (outage-gate.ts). The listener runs on its own connection, which postgres.js re-opens
 * and re-LISTENs after a drop; we then catch subscribers up from the table, because NOTIFYs sent while it
 * was away are not queued for it.
 */
import postgres from 'postgres';
import type { Row, SqlDriver, SqlExecutor, SqlParam } from './driver.ts';
import { migrate } from './migrate.ts';
import { OutageGate } from './outage-gate.ts';
import { channelFor, SqlEnvelopeStore } from './sql-store.ts';
import { StoreUnavailableError, type EnvelopeStore } from './store.ts';

export interface PostgresStoreOptions {
  /** A postgres:// URL, as in ASYA_DATABASE_URL. */
  url: string;
  /** Schema holding the tables; created if missing. @default the server's search_path (public) */
  schema?: string;
  /** Shows in pg_stat_activity. @default 'asya-gateway' */
  applicationName?: string;
  /** Pool size, as ASYA_DB_MAX_CONNS. @default 10 */
  maxConnections?: number;
  /** @default 5 */
  connectTimeoutSeconds?: number;
  /** @default 1800 (ASYA_DB_MAX_CONN_IDLE_TIME of the original) */
  idleTimeoutSeconds?: number;
  /** @default 3600 (ASYA_DB_MAX_CONN_LIFETIME of the original) */
  maxLifetimeSeconds?: number;
  /** Disable behind a transaction-mode pooler such as PgBouncer. @default true */
  prepare?: boolean;
  /** How long close() lets in-flight queries finish before dropping connections. @default 5 */
  closeTimeoutSeconds?: number;
  /** Apply pending migrations on open. @default true */
  migrate?: boolean;
  /** Errors from background work (subscription catch-up); the store retries regardless. */
  onBackgroundError?: (error: unknown) => void;
}

export async function openPostgresStore(options: PostgresStoreOptions): Promise<EnvelopeStore> {
  const driver = new PostgresDriver(options);
  try {
    if (options.schema) await driver.createSchema(options.schema);
    if (options.migrate ?? true) await migrate(driver);
  } catch (err) {
    await driver.close();
    throw err;
  }
  return new SqlEnvelopeStore(driver, channelFor(options.schema), options.onBackgroundError);
}

/** SQLSTATE classes and client codes that mean "the server is not reachable", not "the query is wrong". */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN',
  'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT',
  '57P01', '57P02', '57P03', '53300',
]);

export function isUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'));
}

function guard(err: unknown): never {
  throw isUnavailable(err) ? new StoreUnavailableError(err) : err;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

// postgres.js types parameters by a generic it cannot infer from our plain union; the values are plain
// strings, numbers, booleans and nulls, which it serialises without help.
type Params = postgres.ParameterOrJSON<never>[];
const asParams = (params: readonly SqlParam[]) => params as unknown as Params;

/**
 * `unsafe()` defaults to unprepared statements, which for a query with parameters costs an extra
 * Parse/Describe round trip and a fresh plan every time; the store's SQL is a small fixed set, so it is
 * prepared once per connection unless the caller turned `prepare` off (transaction-mode poolers).
 */
function executor(sql: postgres.Sql | postgres.TransactionSql, prepare: boolean): SqlExecutor {
  return {
    async query(text, params = []) {
      const result = await sql.unsafe(text, asParams(params), { prepare });
      return result as unknown as Row[];
    },
    async exec(script) {
      await sql.unsafe(script).simple();
    },
  };
}

class PostgresDriver implements SqlDriver {
  private readonly sql: postgres.Sql;
  private readonly pool: SqlExecutor;
  private readonly listeners: postgres.Sql[] = [];
  private readonly gate: OutageGate;

  constructor(private readonly options: PostgresStoreOptions) {
    const max = options.maxConnections ?? 10;
    this.sql = postgres(options.url, this.clientOptions(max, true));
    this.pool = executor(this.sql, options.prepare ?? true);
    this.gate = new OutageGate({ max, probe: () => this.reachable(), isUnavailable });
  }

  query(text: string, params?: readonly SqlParam[]): Promise<Row[]> {
    return this.gate.run(() => this.pool.query(text, params)).catch(guard);
  }

  exec(script: string): Promise<void> {
    return this.gate.run(() => this.pool.exec(script)).catch(guard);
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    try {
      return await this.gate.run(async () => (await this.sql.begin((tx) => fn(executor(tx, this.options.prepare ?? true)))) as T);
    } catch (err) {
      return guard(err);
    }
  }

  async createSchema(schema: string): Promise<void> {
    try {
      await this.sql.unsafe(`create schema if not exists ${quoteIdent(schema)}`);
    } catch (err) {
      // Two replicas creating it at once: the loser sees a duplicate, which is what it wanted anyway.
      const code = (err as { code?: unknown }).code;
      if (code !== '23505' && code !== '42P06') guard(err);
    }
  }

  async listen(channel: string, onNotify: (payload: string) => void, onResumed: () => void): Promise<void> {
    // A client of its own: if the first LISTEN fails, postgres.js remembers the failed attempt for that
    // channel, so we throw the client away and the next subscribe starts clean.
    const client = postgres(this.options.url, this.clientOptions(1));
    let resumed = false;
    try {
      await client.listen(channel, onNotify, () => {
        if (resumed) onResumed();
        resumed = true;
      });
    } catch (err) {
      await client.end({ timeout: 0 }).catch(() => {});
      guard(err);
    }
    this.listeners.push(client);
  }

  /** The readiness probe; it also ends an outage the gate saw (see outage-gate.ts). */
  ping(): Promise<boolean> {
    return this.gate.probe();
  }

  private async reachable(timeoutMs = 2000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const probe = this.sql.unsafe('select 1').then(
      () => true,
      () => false,
    );
    try {
      return await Promise.race([probe, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    // postgres.js keeps a connection whose socket died mid-query "busy", so end() would wait for it
    // forever; after the timeout it is destroyed instead.
    const timeout = this.options.closeTimeoutSeconds ?? 5;
    await Promise.all([this.sql, ...this.listeners].map((c) => c.end({ timeout })));
  }

  /**
   * `gated`: the pool, whose reconnects the outage gate paces (one probe at a time); postgres.js's own
   * backoff grows to 20 s per attempt and would hold the probe, and so the recovery, back that long. A
   * listener reconnects by itself in a loop, one connection's attempts: capped at a second apart, so that
   * streams hear of updates again within about a second of the database's return, not up to 20 s later.
   */
  private clientOptions(max: number, gated = false): postgres.Options<Record<string, postgres.PostgresType>> {
    const o = this.options;
    return {
      max,
      connect_timeout: o.connectTimeoutSeconds ?? 5,
      idle_timeout: o.idleTimeoutSeconds ?? 1800,
      max_lifetime: o.maxLifetimeSeconds ?? 3600,
      prepare: o.prepare ?? true,
      backoff: gated ? () => 0 : listenerBackoff,
      // IF NOT EXISTS in migrations raises notices; they are expected, not news.
      onnotice: () => {},
      connection: {
        application_name: o.applicationName ?? 'asya-gateway',
        ...(o.schema ? { search_path: quoteIdent(o.schema) } : {}),
      },
    };
  }
}

/** Seconds before a listener's next reconnect attempt: 0.1, 0.2, 0.4, 0.8, then 1 s apart. */
function listenerBackoff(attempt: number): number {
  return Math.min(0.05 * 2 ** attempt, 1);
}
