/**
 * Every component's settings table, in the order docs/configuration.md shows them, and the writer of that
 * page's tables (`make docs`); test/settings-docs.test.ts fails when the committed page is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONTROLLER_SETTINGS } from '../controller/settings.ts';
import { CREW_SETTINGS } from '../crew/settings.ts';
import { GATEWAY_SETTINGS } from '../gateway/settings.ts';
import { RUNTIME_SETTINGS } from '../runtime/settings.ts';
import { renderSettingsDocs, type SettingsTable } from '../settings/index.ts';
import { SIDECAR_SETTINGS } from '../sidecar/settings.ts';
import { TELEMETRY_SETTINGS } from '../telemetry/settings.ts';
import { TRANSPORT_SETTINGS } from '../transport/factory.ts';
import { TRANSPORT_NAMES, TRANSPORT_PLUGINS } from '../transport/registry.ts';
import { CLI_SETTINGS, DLQ_CLI_SETTINGS } from './settings.ts';

export const DOCUMENTED_SETTINGS: readonly SettingsTable[] = [
  RUNTIME_SETTINGS,
  SIDECAR_SETTINGS,
  TRANSPORT_SETTINGS,
  // One table per broker of the registry, in its order.
  ...TRANSPORT_NAMES.map((name) => TRANSPORT_PLUGINS[name].settings),
  GATEWAY_SETTINGS,
  CREW_SETTINGS,
  TELEMETRY_SETTINGS,
  CONTROLLER_SETTINGS,
  CLI_SETTINGS,
  DLQ_CLI_SETTINGS,
];

export const CONFIGURATION_DOC = join(import.meta.dirname, '..', 'docs', 'configuration.md');

export function configurationDoc(): string {
  return renderSettingsDocs(readFileSync(CONFIGURATION_DOC, 'utf8'), DOCUMENTED_SETTINGS);
}

if (process.argv[1] === import.meta.filename) {
  writeFileSync(CONFIGURATION_DOC, configurationDoc());
  process.stdout.write(`wrote ${CONFIGURATION_DOC}\n`);
}
