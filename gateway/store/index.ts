/**
 * The envelope store's public face: pick PostgreSQL when a URL is configured, else the embedded store. Each
 * is loaded when opened, so a gateway on PostgreSQL never loads PGlite and an embedded one never loads the
 * PostgreSQL client (about 4 and 5.5 MiB of a process's memory each).
 */
import type { PgliteStoreOptions } from './pglite.ts';
import type { PostgresStoreOptions } from './postgres.ts';
import type { EnvelopeStore } from './store.ts';

export * from './store.ts';
export type { PgliteStoreOptions } from './pglite.ts';
export type { PostgresStoreOptions } from './postgres.ts';
export { NON_FINAL_PROGRESS_CAP, progressFor } from './state-machine.ts';

export async function openPostgresStore(options: PostgresStoreOptions): Promise<EnvelopeStore> {
  return (await import('./postgres.ts')).openPostgresStore(options);
}

export async function openPgliteStore(options?: PgliteStoreOptions): Promise<EnvelopeStore> {
  return (await import('./pglite.ts')).openPgliteStore(options);
}

export interface OpenStoreOptions extends Partial<PostgresStoreOptions> {
  /** Where the embedded store keeps its data when no URL is given. @default none: gone when the gateway stops */
  dataDir?: string;
}

/**
 * A URL → PostgreSQL (shared by replicas); none → embedded PGlite, as for `asya dev`. The URL is the
 * gateway's ASYA_DATABASE_URL as its settings table read it (gateway/server.ts), never the process's own.
 */
export function openStore(options: OpenStoreOptions = {}): Promise<EnvelopeStore> {
  const { url } = options;
  if (url) return openPostgresStore({ ...options, url });
  return openPgliteStore({ dataDir: options.dataDir, onBackgroundError: options.onBackgroundError });
}
