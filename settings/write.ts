/** Writing a component's environment from typed values, by the same declarations its reader uses. */
import type { AnySetting, Settings, SettingsTable } from './setting.ts';

export interface EnvVar {
  name: string;
  value: string;
}

export interface ToEnvOptions {
  /** Leave out values equal to the setting's default (the reader would get them anyway). */
  omitDefaults?: boolean;
}

/**
 * Texts each setting's reader took already: inject-sidecar writes the same retry policy, end actors and
 * timeouts for a thousand actors, and reading them again each time was a tenth of its run. Bounded, since
 * some values (actor names) are all different.
 */
const READABLE = new WeakMap<AnySetting, Set<string>>();
const READABLE_KEPT = 1_000;

/** A writer must not hand a component a value its reader would refuse; that is the writer's bug, said here. */
function checkReadable(table: SettingsTable, setting: AnySetting, text: string): void {
  // An empty value reads as unset (unless the setting keeps it), so there is nothing to parse.
  if (text.trim() === '' && !setting.options.keepEmpty) return;
  let readable = READABLE.get(setting);
  if (readable?.has(text)) return;
  try {
    setting.kind.parse(text.trim());
    if (!readable) READABLE.set(setting, (readable = new Set()));
    if (readable.size >= READABLE_KEPT) readable.clear();
    readable.add(text);
  } catch (err) {
    const shown = setting.options.secret ? '' : `=${JSON.stringify(text)}`;
    throw new Error(`settings table ${table.component}: writing ${setting.options.env}${shown}, which its reader refuses: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * One variable per value given, in the order given (a pod's env order is visible in manifests and goldens);
 * undefined values are skipped. Only the given keys are written: the caller decides what is worth writing,
 * usually what differs from what the component would assume.
 */
export function toEnv<Table extends SettingsTable>(table: Table, values: Partial<Settings<Table>>, options: ToEnvOptions = {}): EnvVar[] {
  const env: EnvVar[] = [];
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue;
    const setting = table.settings[key];
    if (!setting) throw new Error(`settings table ${table.component} has no setting ${key}`);
    const text = setting.kind.format(value);
    checkReadable(table, setting, text);
    if (options.omitDefaults && setting.options.default !== undefined && setting.kind.format(setting.options.default) === text) continue;
    env.push({ name: setting.options.env, value: text });
  }
  return env;
}

/** The same as a plain object, for spawning a process or building a test's environment. */
export function toEnvRecord<Table extends SettingsTable>(table: Table, values: Partial<Settings<Table>>, options: ToEnvOptions = {}): Record<string, string> {
  return Object.fromEntries(toEnv(table, values, options).map((e) => [e.name, e.value]));
}

/** The variable of one setting, for entries whose value comes from elsewhere (a Secret, the downward API). */
export function envName<Table extends SettingsTable>(table: Table, key: keyof Table['settings'] & string): string {
  const setting = table.settings[key];
  if (!setting) throw new Error(`settings table ${table.component} has no setting ${key}`);
  return setting.options.env;
}
