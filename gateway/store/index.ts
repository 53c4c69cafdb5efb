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

/** ASYA_DATABASE_URL set → PostgreSQL (shared by replicas); unset → embedded PGlite, as for `asya dev`. */
export function openStore(options: OpenStoreOptions = {}): Promise<EnvelopeStore> {
  const url = options.url ?? process.env.ASYA_DATABASE_URL;
  if (url) return openPostgresStore({ ...options, url });
  return openPgliteStore({ dataDir: options.dataDir, onBackgroundError: options.onBackgroundError });
}
