/**
 * Turns `asya call <tool> [json] [--key value ...]` into the tool's arguments. Values given as flags are
 * coerced by the type the tool declares in its input schema (tools/list), so `--count 3` sends 3, not "3";
 * an array parameter may be repeated (`--tag a --tag b`) or given as JSON. Flags override the JSON object.
 */
import { CliError, EXIT } from './exit-codes.ts';
import type { JsonSchema } from './gateway-client.ts';
import { didYouMean } from '../../api/nearest-name.ts';
import { parseJsonOrExplain } from './json-error.ts';
import { errorText } from '../../protocol/errors.ts';

/** One `--key value`, `--key=value` or bare `--flag` (value true) from the command line. */
export interface FlagArgument {
  key: string;
  value: string | true;
}

const usage = (message: string) => new CliError(EXIT.usage, message);

/** The JSON positional: an object, or a usage error that says where the text goes wrong. */
export function parseArgumentsJson(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = parseJsonOrExplain(text, 'the arguments');
  } catch (err) {
    throw usage(errorText(err));
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw usage(`the arguments must be a JSON object like {"text": "hi"}, got ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`);
  }
  return value as Record<string, unknown>;
}

function coerce(flag: string, raw: string | true, schema: JsonSchema | undefined): unknown {
  const type = schema?.type;
  if (raw === true) {
    if (type === undefined || type === 'boolean') return true;
    throw usage(`${flag} needs a value (${article(type)})`);
  }
  switch (type) {
    case 'integer':
      if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(Number(raw))) throw usage(`${flag} expects an integer, got ${JSON.stringify(raw)}`);
      return Number(raw);
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw usage(`${flag} expects a number, got ${JSON.stringify(raw)}`);
      return n;
    }
    case 'boolean': {
      const word = raw.trim().toLowerCase();
      if (['true', 'yes', '1', 'on'].includes(word)) return true;
      if (['false', 'no', '0', 'off'].includes(word)) return false;
      throw usage(`${flag} expects true or false, got ${JSON.stringify(raw)}`);
    }
    case 'object':
    case 'array': {
      let value: unknown;
      try {
        value = parseJsonOrExplain(raw, flag);
      } catch (err) {
        throw usage(errorText(err));
      }
      const ok = type === 'array' ? Array.isArray(value) : value !== null && typeof value === 'object' && !Array.isArray(value);
      if (!ok) throw usage(`${flag} expects ${article(type)} as JSON, got ${raw}`);
      return value;
    }
    default:
      return raw;
  }
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/** What the flags add to the JSON arguments; `warn` hears about flags the tool does not declare. */
export function applyFlags(base: Record<string, unknown>, flags: FlagArgument[], schema: JsonSchema | undefined, warn: (message: string) => void): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  const properties = schema?.properties ?? {};
  const repeated = new Set<string>();
  for (const { key, value } of flags) {
    const flag = `--${key}`;
    const declared = properties[key];
    if (!declared && schema?.properties) {
      const hint = didYouMean(key, Object.keys(properties), '--');
      warn(`the tool declares no argument "${key}"${hint} (it has: ${Object.keys(properties).join(', ') || 'none'}); sending ${flag} as given`);
    }
    if (declared?.type === 'array' && !(typeof value === 'string' && value.trim().startsWith('['))) {
      // A repeated flag collects items; the first occurrence replaces what the JSON object held.
      const items = repeated.has(key) && Array.isArray(out[key]) ? (out[key] as unknown[]) : [];
      items.push(coerce(flag, value, declared.items));
      out[key] = items;
      repeated.add(key);
      continue;
    }
    out[key] = coerce(flag, value, declared);
  }
  return out;
}
