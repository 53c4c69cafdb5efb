/** JSON helpers that keep the wire rules of the original (objects are plain dicts, arrays are lists). */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Renders a value the way Python's repr() does for the str/int/list shapes that appear in the original's
 * validation messages, so both runtimes produce byte-identical error text.
 */
export function pyRepr(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  if (typeof value === 'string') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (isPlainObject(value)) {
    return `{${Object.entries(value).map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`).join(', ')}}`;
  }
  return String(value);
}

/** Why a value (not what it contains) cannot be JSON as Python's json.dumps writes it, or undefined. */
function leafProblem(v: unknown): string | undefined {
  if (v === null) return undefined;
  if (typeof v === 'number') return Number.isFinite(v) ? undefined : `Out of range float values are not JSON compliant: ${v}`;
  if (typeof v !== 'object') return `Object of type ${typeof v} is not JSON serializable`;
  if (Array.isArray(v)) return undefined;
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null && !hasToJson(v)) return `Object of type ${(v as object).constructor?.name ?? 'object'} is not JSON serializable`;
  return undefined;
}

function hasToJson(v: object): boolean {
  return typeof (v as { toJSON?: unknown }).toJSON === 'function';
}

/** Python's json.dumps rejects nothing that JSON.stringify silently rewrites, so we check the cases by hand. */
export function assertSerialisable(value: unknown, path = 'result'): void {
  // Every result is walked, and almost all are fine: the walk that names a problem's path (a string built per
  // node) runs only once the cheap walk has found one.
  if (!serialisable(value, new Set())) throwFirstProblem(value, path);
}

function serialisable(v: unknown, seen: Set<unknown>): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (leafProblem(v) !== undefined) return false;
  if (typeof v !== 'object') return true;
  if (seen.has(v)) return false;
  seen.add(v);
  if (Array.isArray(v)) {
    for (const item of v) if (!serialisable(item, seen)) return false;
  } else if (!hasToJson(v)) {
    for (const key in v) {
      if (Object.hasOwn(v, key) && !serialisable((v as Record<string, unknown>)[key], seen)) return false;
    }
  }
  seen.delete(v);
  return true;
}

function throwFirstProblem(value: unknown, path: string): void {
  const seen = new Set<unknown>();
  const walk = (v: unknown, p: string): void => {
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
    const problem = leafProblem(v);
    if (problem !== undefined) throw new TypeError(`${problem} at ${p}`);
    if (typeof v !== 'object') return;
    if (seen.has(v)) throw new TypeError(`Circular reference detected at ${p}`);
    seen.add(v);
    if (Array.isArray(v)) v.forEach((item, i) => walk(item, `${p}[${i}]`));
    else if (!hasToJson(v)) for (const [k, item] of Object.entries(v)) walk(item, `${p}.${k}`);
    seen.delete(v);
  };
  walk(value, path);
}

/**
 * The deepest nesting an envelope may have. V8 parses any depth, but JSON.stringify and Python's json
 * recurse and overflow their stacks a few thousand levels down (Python at ~1000), so a message nested
 * deeper than this is refused before anyone tries to serialise it again.
 */
export const MAX_JSON_DEPTH = 512;

const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Whether JSON text nests deeper than `limit`, found with one scan of the bytes and no recursion. The
 * structural characters are ASCII, which never occurs inside a multi-byte UTF-8 sequence, so the bytes can
 * be scanned without decoding them.
 */
export function jsonTextNestsDeeper(text: Buffer, limit = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const byte = text[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
      if (++depth > limit) return true;
    } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
      depth--;
    }
  }
  return false;
}

/** Whether a parsed value nests deeper than `limit` (a scalar is depth 0), walked without recursion. */
export function valueNestsDeeper(value: unknown, limit = MAX_JSON_DEPTH): boolean {
  const pending: Array<[unknown, number]> = [[value, 0]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [item, depth] = next;
    if (typeof item !== 'object' || item === null) continue;
    if (depth + 1 > limit) return true;
    for (const child of Array.isArray(item) ? item : Object.values(item)) pending.push([child, depth + 1]);
  }
  return false;
}
