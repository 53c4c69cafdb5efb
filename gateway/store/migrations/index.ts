/**
 * The migrations, in version order. They are SQL kept in modules rather than .sql files so that the bundled
 * CLI (dist/asya.js, which is all a container image has of the gateway) carries them; a directory read at
 * run time found nothing there.
 */
import type { Migration } from '../migrate.ts';
import v001 from './001_initial.ts';
import v002 from './002_envelope_extensions.ts';
import v003 from './003_indexes.ts';
import v004 from './004_replay_events.ts';
import v005 from './005_envelope_owner.ts';
import v006 from './006_outbox.ts';
import v007 from './007_late_events.ts';
import v008 from './008_idempotency_keys.ts';
import v009 from './009_pauses.ts';
import v010 from './010_fan_in.ts';
import v011 from './011_console_list.ts';

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'initial', sql: v001 },
  { version: 2, name: 'envelope_extensions', sql: v002 },
  { version: 3, name: 'indexes', sql: v003 },
  { version: 4, name: 'replay_events', sql: v004 },
  { version: 5, name: 'envelope_owner', sql: v005 },
  { version: 6, name: 'outbox', sql: v006 },
  { version: 7, name: 'late_events', sql: v007 },
  { version: 8, name: 'idempotency_keys', sql: v008 },
  { version: 9, name: 'pauses', sql: v009 },
  { version: 10, name: 'fan_in', sql: v010 },
  { version: 11, name: 'console_list', sql: v011 },
];
