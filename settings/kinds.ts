/**
 * What a setting's value looks like: how its text is read and written back. A kind's `parse` throws an Error
 * whose message says what was expected ("expected an integer >= 1"); the reader adds the variable's name.
 */
import type { z } from 'zod';
import { DURATION_EXPECTED, parseDuration } from './duration.ts';

export interface Kind<T> {
  /** What a value looks like, for the docs ("integer >= 1", "duration"). */
  readonly describe: string;
  parse(raw: string): T;
  format(value: T): string;
  /** Long or structured values (JSON): messages name the variable without repeating the value. */
  readonly quiet?: boolean;
  /** For a value that was read but probably not as meant: what to warn about. */
  caution?(raw: string): string | undefined;
}

const problem = (message: string): never => {
  throw new Error(message);
};

export function intKind(min?: number, max?: number): Kind<number> {
  const range = min !== undefined && max !== undefined ? ` from ${min} to ${max}` : min !== undefined ? ` >= ${min}` : max !== undefined ? ` <= ${max}` : '';
  return {
    describe: `integer${range}`,
    parse(raw) {
      const value = /^[+-]?\d+$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(value) || (min !== undefined && value < min) || (max !== undefined && value > max)) problem(`expected an integer${range}`);
      return value;
    },
    format: String,
  };
}

/**
 * Milliseconds, written as seconds (`300`) or Go-style (`5m`). Written back in whole seconds where it can be
 * (`300s`), the form the injected pods have always carried.
 */
export function durationKind(minMs?: number): Kind<number> {
  return {
    describe: 'duration',
    parse(raw) {
      let ms = 0;
      try {
        ms = parseDuration(raw);
      } catch {
        problem(DURATION_EXPECTED);
      }
      if (minMs !== undefined && ms < minMs) problem(minMs === 1 ? 'expected a duration above 0' : `expected a duration of at least ${minMs}ms`);
      return ms;
    },
    format: (ms) => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`),
  };
}

const TRUE_WORDS = ['true', '1', 'yes', 'on'];
const FALSE_WORDS = ['false', '0', 'no', 'off'];

export const boolKind: Kind<boolean> = {
  describe: 'boolean',
  parse(raw) {
    const word = raw.toLowerCase();
    if (TRUE_WORDS.includes(word)) return true;
    if (FALSE_WORDS.includes(word)) return false;
    return problem('expected true/false, 1/0, yes/no or on/off');
  },
  format: String,
};

/**
 * The original's rule for some switches: only one literal word (any case) flips it, anything else means the
 * other value. `literal: 'true'` is on only for `true`; `literal: 'false'` is off only for `false`. A value that
 * reads as a boolean the other way (`no` where only `false` counts), or as none, gets a warning instead of
 * silently doing what the user did not mean.
 */
export function literalBoolKind(literal: 'true' | 'false'): Kind<boolean> {
  const read = (raw: string) => (literal === 'true' ? raw.toLowerCase() === 'true' : raw.toLowerCase() !== 'false');
  return {
    describe: `boolean (only the literal ${literal} counts)`,
    parse: read,
    format: String,
    caution(raw) {
      const word = raw.toLowerCase();
      if (word === 'true' || word === 'false') return undefined;
      return `read as ${read(raw)}: only the literal ${literal} changes it`;
    },
  };
}

export const stringKind: Kind<string> = { describe: 'string', parse: (raw) => raw, format: (value) => value };

/** An absolute URL; trailing slashes are dropped so paths can be appended. */
export const urlKind: Kind<string> = {
  describe: 'URL',
  parse(raw) {
    if (!URL.canParse(raw)) problem('expected an absolute URL such as http://host:8080');
    return raw.replace(/\/+$/, '');
  },
  format: (value) => value,
};

export interface HostPort {
  host?: string;
  port: number;
}

/** `[host]:port`; an empty host means every interface. */
export const hostPortKind: Kind<HostPort> = {
  describe: '[host]:port',
  parse(raw) {
    const match = /^(?<host>[^:]*):(?<port>\d+)$/.exec(raw);
    const port = Number(match?.groups?.port);
    if (!match?.groups || port > 65535) return problem('expected [host]:port, e.g. :8080');
    return match.groups.host ? { host: match.groups.host, port } : { port };
  },
  format: (value) => `${value.host ?? ''}:${value.port}`,
};

export function enumKind<const V extends string>(values: readonly V[], options: { caseInsensitive?: boolean; synonyms?: Record<string, V> } = {}): Kind<V> {
  const expected = values.length === 2 ? `${values[0]} or ${values[1]}` : `one of ${values.join(', ')}`;
  return {
    describe: values.join(' | '),
    parse(raw) {
      const text = options.caseInsensitive ? raw.toLowerCase() : raw;
      const found = values.find((v) => (options.caseInsensitive ? v.toLowerCase() : v) === text) ?? options.synonyms?.[options.caseInsensitive ? raw.toUpperCase() : raw];
      return found ?? problem(`expected ${expected}`);
    },
    format: (value) => value,
  };
}

/** JSON checked against a zod schema; the problems name the fields. */
export function jsonKind<S extends z.ZodType>(schema: S, expected: string): Kind<z.output<S>> {
  return {
    describe: 'JSON',
    quiet: true,
    parse(raw) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch (err) {
        return problem(`not JSON (${err instanceof Error ? err.message : String(err)})`);
      }
      const result = schema.safeParse(parsed);
      if (!result.success) {
        const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
        return problem(`${problems} (expected ${expected})`);
      }
      return result.data;
    },
    format: (value) => JSON.stringify(value),
  };
}

/** Comma-separated items, blanks dropped. */
export function listKind<T>(item: Kind<T>): Kind<T[]> {
  return {
    describe: `comma-separated ${item.describe}s`,
    parse: (raw) => raw.split(',').map((s) => s.trim()).filter(Boolean).map((s) => item.parse(s)),
    format: (values) => values.map((v) => item.format(v)).join(','),
  };
}
