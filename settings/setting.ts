/**
 * A setting is declared once: its variable, kind, default, strictness, doc line and old names. The reader
 * (fromEnv), the writer (toEnv) and the docs tables are derived from the declaration, and so is the type of
 * the values a component gets.
 */
import type { z } from 'zod';
import { parseDuration } from './duration.ts';
import { boolKind, durationKind, enumKind, hostPortKind, intKind, jsonKind, listKind, literalBoolKind, stringKind, urlKind, type HostPort, type Kind } from './kinds.ts';

/**
 * strict: a value that cannot be read stops the component, naming the variable. lenient: it falls back to the
 * default with a warning (the original's transports behaved so, and some deployments rely on it).
 */
export type Strictness = 'strict' | 'lenient';

export interface SettingOptions<T> {
  env: string;
  /** One line for docs/configuration.md (markdown). */
  doc: string;
  default?: T;
  /** The docs' default column when the default is not a plain value ("`1`; `16` for the crew"). */
  defaultDoc?: string;
  /** Missing is an error; the text says what the setting is for. */
  required?: string;
  strictness?: Strictness;
  /** Old names still read, with a deprecation warning, when the new one is unset. */
  aliases?: readonly string[];
  /** An empty value means something ("no prefix") instead of counting as unset. */
  keepEmpty?: boolean;
  /** Never echo the value in messages (tokens). */
  secret?: boolean;
  /**
   * The value may instead be in the file `<env>_FILE` names (a Secret mounted as files, so it is not in the
   * process environment); one trailing newline is dropped. Both set, or an unreadable file, is an error.
   */
  fromFile?: boolean;
  /** Full messages where a runtime must say exactly what the original said. */
  messages?: { missing?: string; invalid?: (raw: string) => string };
}

export type Presence = 'always' | 'maybe';

export interface Setting<T, P extends Presence = Presence> {
  readonly kind: Kind<T>;
  readonly options: SettingOptions<T>;
  /** Type-level only: whether the value is always there (a default, or required). */
  readonly presence?: P;
}

type PresenceOf<O> = O extends { default: unknown } ? 'always' : O extends { required: string } ? 'always' : 'maybe';

// `any`: a table holds settings of every value type; each entry's own type is recovered by ValueOf.
export type AnySetting = Setting<any, Presence>;

/** A name of the original's that is not read any more. `warn` logs that it is ignored; `refuse` stops startup. */
export interface RetiredSetting {
  env: string;
  action: 'warn' | 'refuse';
  /** Why, and what to set instead. */
  reason: string;
}

export interface SettingsTable<S extends Record<string, AnySetting> = Record<string, AnySetting>> {
  /** The component, also the name of its docs marker (`<!-- settings:<component> -->`). */
  readonly component: string;
  readonly settings: S;
  readonly retired: readonly RetiredSetting[];
}

export function settingsTable<const S extends Record<string, AnySetting>>(component: string, settings: S, retired: readonly RetiredSetting[] = []): SettingsTable<S> {
  const names = [
    ...Object.values(settings).flatMap((s) => [s.options.env, ...(s.options.fromFile ? [`${s.options.env}_FILE`] : []), ...(s.options.aliases ?? [])]),
    ...retired.map((r) => r.env),
  ];
  const twice = names.filter((n, i) => names.indexOf(n) !== i);
  if (twice.length > 0) throw new Error(`settings table ${component}: ${[...new Set(twice)].join(', ')} declared twice`);
  return { component, settings, retired };
}

type Simplify<T> = { [K in keyof T]: T[K] };
type AlwaysKeys<S> = { [K in keyof S]: S[K] extends Setting<unknown, infer P> ? ('maybe' extends P ? never : K) : never }[keyof S];
type ValueOf<S> = S extends Setting<infer T, Presence> ? T : never;

/** The values a table reads: settings with a default or required are always there, the others optional. */
export type Settings<Table extends SettingsTable> = Simplify<
  { [K in AlwaysKeys<Table['settings']>]: ValueOf<Table['settings'][K]> } & { [K in Exclude<keyof Table['settings'], AlwaysKeys<Table['settings']>>]?: ValueOf<Table['settings'][K]> }
>;

function declare<T, O extends SettingOptions<T>>(kind: Kind<T>, options: O): Setting<T, PresenceOf<O>> {
  return { kind, options };
}

type Common<T> = SettingOptions<T>;

export const int = <O extends Common<number> & { min?: number; max?: number }>(o: O) => declare(intKind(o.min, o.max), o);
export const bool = <O extends Common<boolean>>(o: O) => declare(boolKind, o);
/** See literalBoolKind: the original's switches that only one word flips. */
export const literalBool = <O extends Common<boolean> & { literal: 'true' | 'false' }>(o: O) => declare(literalBoolKind(o.literal), o);
export const string = <O extends Common<string>>(o: O) => declare(stringKind, o);
export const url = <O extends Common<string>>(o: O) => declare(urlKind, o);
export const hostPort = <O extends Common<HostPort>>(o: O) => declare(hostPortKind, o);
export const list = <T, O extends Common<T[]>>(item: Kind<T>, o: O) => declare(listKind(item), o);
export const custom = <T, O extends Common<T>>(kind: Kind<T>, o: O) => declare(kind, o);
/** `synonyms`: other spellings of a value (`WARN` for `WARNING`). */
export const oneOf = <const V extends string, O extends Common<V>>(values: readonly V[], o: O & { caseInsensitive?: boolean; synonyms?: Record<string, V> }) =>
  declare(enumKind(values, { ...(o.caseInsensitive ? { caseInsensitive: true } : {}), ...(o.synonyms ? { synonyms: o.synonyms } : {}) }), o);
export const json = <S extends z.ZodType, O extends Common<z.output<S>>>(schema: S, expected: string, o: O) => declare(jsonKind(schema, expected), o);

/**
 * Durations are values in milliseconds, but declared the way people write them (`default: '5m'`), which is
 * also what the docs show.
 */
export function duration<O extends Omit<Common<number>, 'default'> & { default?: string; minMs?: number }>(
  o: O,
): Setting<number, O extends { default: string } ? 'always' : PresenceOf<O>> {
  const { default: text, minMs, ...rest } = o;
  const options: SettingOptions<number> = text === undefined ? rest : { ...rest, default: parseDuration(text, o.env), defaultDoc: o.defaultDoc ?? `\`${text}\`` };
  return { kind: durationKind(minMs), options };
}

/** A shared declaration with the doc line one component's table shows (same variable, same reading). */
export function describedAs<T, P extends Presence>(setting: Setting<T, P>, text: Pick<SettingOptions<T>, 'doc' | 'defaultDoc'>): Setting<T, P> {
  return { kind: setting.kind, options: { ...setting.options, ...text } };
}

/** Part of a table, for a caller that needs one setting read exactly as its component reads it. */
export function pickSettings<S extends Record<string, AnySetting>, K extends keyof S & string>(table: SettingsTable<S>, keys: readonly K[]): SettingsTable<Pick<S, K>> {
  const settings = Object.fromEntries(keys.map((key) => [key, table.settings[key]])) as Pick<S, K>;
  return { component: table.component, settings, retired: [] };
}
