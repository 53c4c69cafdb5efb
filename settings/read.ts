/** Reading a table from the environment: every problem at once, warnings apart. */
import type { AnySetting, Settings, SettingsTable } from './setting.ts';

export type Env = Record<string, string | undefined>;

export interface ReadResult<Table extends SettingsTable> {
  values: Settings<Table>;
  /** One line per variable that stops startup. */
  errors: string[];
  /** Deprecated names read, retired names set, lenient values that fell back to their default. */
  warnings: string[];
}

export class SettingsError extends Error {
  override readonly name = 'SettingsError';
  constructor(readonly problems: readonly string[]) {
    super(problems.length === 1 ? problems[0]! : `${problems.length} settings are invalid: ${problems.join('; ')}`);
  }
}

export interface FromEnvOptions {
  /** Where warnings go; default: a WARNING line on stderr, in the loggers' format. */
  warn?: (message: string) => void;
  /** The component's own error type, so callers keep catching what they caught. */
  error?: (message: string) => Error;
}

const stderrWarning = (message: string) => process.stderr.write(`${new Date().toISOString()} WARNING asya.settings: ${message}\n`);

/** The value of a variable as the tables see it: trimmed, and empty counts as unset unless the setting keeps it. */
function present(env: Env, name: string, keepEmpty: boolean | undefined): string | undefined {
  const raw = env[name];
  if (raw === undefined) return undefined;
  const text = raw.trim();
  return text === '' && !keepEmpty ? undefined : text;
}

function source(setting: AnySetting, env: Env, warnings: string[]): { name: string; raw: string } | undefined {
  const { env: name, aliases = [], keepEmpty } = setting.options;
  const current = present(env, name, keepEmpty);
  const old = aliases.map((alias) => ({ name: alias, raw: present(env, alias, keepEmpty) })).filter((a) => a.raw !== undefined);
  for (const alias of old) {
    warnings.push(current !== undefined ? `${alias.name} is deprecated and ignored because ${name} is set` : `${alias.name} is deprecated: read as ${name}; rename it`);
  }
  if (current !== undefined) return { name, raw: current };
  const first = old[0];
  return first ? { name: first.name, raw: first.raw! } : undefined;
}

function shown(setting: AnySetting, name: string, raw: string): string {
  return setting.options.secret || setting.kind.quiet ? name : `${name}=${JSON.stringify(raw)}`;
}

export function readSettings<Table extends SettingsTable>(table: Table, env: Env): ReadResult<Table> {
  const values: Record<string, unknown> = {};
  const errors: string[] = [];
  const warnings: string[] = [];
  for (const retired of table.retired) {
    if (present(env, retired.env, false) === undefined) continue;
    (retired.action === 'refuse' ? errors : warnings).push(`${retired.env} is not read any more: ${retired.reason}`);
  }
  for (const [key, setting] of Object.entries(table.settings)) {
    const { options, kind } = setting;
    const found = source(setting, env, warnings);
    if (found === undefined) {
      // Every key is there, unset ones as undefined, so a caller can tell "not set" from "not declared".
      values[key] = options.default;
      if (options.default !== undefined) continue;
      if (options.required !== undefined) errors.push(options.messages?.missing ?? `${options.env} is required: ${options.required}`);
      continue;
    }
    try {
      values[key] = kind.parse(found.raw);
      const caution = kind.caution?.(found.raw);
      if (caution) warnings.push(`${shown(setting, found.name, found.raw)} is ${caution}`);
    } catch (err) {
      const problem = err instanceof Error ? err.message : String(err);
      const message = options.messages?.invalid?.(found.raw) ?? `Invalid ${shown(setting, found.name, found.raw)}: ${problem}`;
      if (options.strictness === 'lenient' && options.default !== undefined) {
        values[key] = options.default;
        warnings.push(`${message}; using the default ${kind.format(options.default)}`);
      } else if (options.strictness === 'lenient') {
        warnings.push(`${message}; ignored`);
      } else {
        errors.push(message);
      }
    }
  }
  return { values: values as Settings<Table>, errors, warnings };
}

/**
 * The table's values from `env`, or one error listing every variable that is wrong. Warnings are written
 * (or handed to `options.warn`) before the error is thrown, so a deprecated name is reported either way.
 */
export function fromEnv<Table extends SettingsTable>(table: Table, env: Env, options: FromEnvOptions = {}): Settings<Table> {
  const { values, errors, warnings } = readSettings(table, env);
  for (const warning of warnings) (options.warn ?? stderrWarning)(warning);
  if (errors.length > 0) {
    const error = new SettingsError(errors);
    throw options.error ? options.error(error.message) : error;
  }
  return values;
}
