/** The envelope store's public face: pick PostgreSQL when a URL is configured, else the embedded store. */
import { openPgliteStore } from './pglite.ts';
import { openPostgresStore, type PostgresStoreOptions } from './postgres.ts';
import type { EnvelopeStore } from './store.ts';

export * from './store.ts';
export { openPgliteStore, type PgliteStoreOptions } from './pglite.ts';
export { openPostgresStore, type PostgresStoreOptions } from './postgres.ts';
export { NON_FINAL_PROGRESS_CAP, progressFor } from './state-machine.ts';

export interface OpenStoreOptions extends Partial<PostgresStoreOptions> {
  /** Where the embedded store keeps its data when no URL is given. @default in memory */
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
