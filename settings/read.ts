/** Reading a table from the environment: every problem at once, warnings apart. */
import { readFileSync } from 'node:fs';
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

/** A variable that cannot be read at all (both a value and a file given, a file that cannot be read). */
class SourceProblem extends Error {}

export interface FromEnvOptions {
  /** Where warnings go; default: a WARNING line on stderr, in the loggers' format. */
  warn?: (message: string) => void;
  /** The component's own error type, so callers keep catching what they caught. */
  error?: (message: string) => Error;
}

let stderrWarning = (message: string): void => void process.stderr.write(`${new Date().toISOString()} WARNING asya.settings: ${message}\n`);

/**
 * Where warnings go when the caller names no `warn`: a process that logs JSON (ASYA_LOG_FORMAT) points this
 * at its logger once, at startup, so a deprecation warning is a JSON line like the rest.
 */
export function sendSettingsWarningsTo(warn: (message: string) => void): void {
  stderrWarning = warn;
}

/** The value of a variable as the tables see it: trimmed, and empty counts as unset unless the setting keeps it. */
function present(env: Env, name: string, keepEmpty: boolean | undefined): string | undefined {
  const raw = env[name];
  if (raw === undefined) return undefined;
  const text = raw.trim();
  return text === '' && !keepEmpty ? undefined : text;
}

/** `<name>_FILE`'s content when the setting allows it and it is set; `problem` when that cannot be used. */
function fromFile(setting: AnySetting, env: Env): { raw?: string; problem?: string } {
  const { env: name, fromFile: allowed, keepEmpty } = setting.options;
  const path = allowed ? present(env, `${name}_FILE`, false) : undefined;
  if (path === undefined) return {};
  if (present(env, name, keepEmpty) !== undefined) return { problem: `set ${name} or ${name}_FILE, not both` };
  try {
    const text = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    return text === '' && !keepEmpty ? {} : { raw: text };
  } catch (err) {
    return { problem: `${name}_FILE=${path} cannot be read: ${err instanceof Error ? err.message : String(err)}` };
  }
}

function source(setting: AnySetting, env: Env, warnings: string[]): { name: string; raw: string } | undefined {
  const { env: name, aliases = [], keepEmpty } = setting.options;
  const file = fromFile(setting, env);
  if (file.problem !== undefined) throw new SourceProblem(file.problem);
  if (file.raw !== undefined) return { name: `${name}_FILE`, raw: file.raw };
  const current = present(env, name, keepEmpty);
  const old = aliases.map((alias) => ({ name: alias, raw: present(env, alias, keepEmpty) })).filter((a) => a.raw !== undefined);
  for (const alias of old) {
    warnings.push(current !== undefined ? `${alias.name} is deprecated and ignored because ${name} is set` : `${alias.name} is deprecated: read as ${name}; rename it`);
  }
  if (current !== undefined) return { name, raw: current };
  const first = old[0];
  return first ? { name: first.name, raw: first.raw! } : undefined;
}

/**
 * Whether the environment gives this setting a value (itself, its file or an old name), as the reader sees it:
 * for a caller that supplies its own default only when the user gave none.
 */
export function isSet<Table extends SettingsTable>(table: Table, key: keyof Table['settings'] & string, env: Env): boolean {
  const setting = table.settings[key];
  if (!setting) throw new Error(`settings table ${table.component} has no setting ${key}`);
  const { env: name, aliases = [], fromFile: file, keepEmpty } = setting.options;
  return [name, ...aliases, ...(file ? [`${name}_FILE`] : [])].some((n) => present(env, n, keepEmpty) !== undefined);
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
    let found: ReturnType<typeof source>;
    try {
      found = source(setting, env, warnings);
    } catch (err) {
      if (!(err instanceof SourceProblem)) throw err;
      errors.push(err.message);
      continue;
    }
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
