/**
 * The little a store needs from a PostgreSQL client. Both postgres.js and PGlite sit behind it, so the
 * envelope logic and its SQL exist once (sql-store.ts) and both stores behave identically.
 */
export type Row = Record<string, unknown>;
export type SqlParam = string | number | boolean | null;

export interface SqlExecutor {
  /** One statement, parameters sent separately (never spliced into the text). */
  query(text: string, params?: readonly SqlParam[]): Promise<Row[]>;
  /** A parameterless script of several statements (migrations). */
  exec(script: string): Promise<void>;
}

export interface SqlDriver extends SqlExecutor {
  /** Runs fn in one READ COMMITTED transaction; rolls back if it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /**
   * Resolves once LISTEN is active. onResumed runs each time the listener came back after losing its
   * connection: notifications sent meanwhile are gone and the caller must catch up from the table.
   */
  listen(channel: string, onNotify: (payload: string) => void, onResumed: () => void): Promise<void>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
