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

/** Python's json.dumps rejects nothing that JSON.stringify silently rewrites, so we check the cases by hand. */
export function assertSerialisable(value: unknown, path = 'result'): void {
  const seen = new Set<unknown>();
  const walk = (v: unknown, p: string): void => {
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new TypeError(`Out of range float values are not JSON compliant: ${v} at ${p}`);
      return;
    }
    if (typeof v === 'bigint' || typeof v === 'function' || typeof v === 'symbol' || v === undefined) {
      throw new TypeError(`Object of type ${typeof v} is not JSON serializable at ${p}`);
    }
    if (typeof v !== 'object') throw new TypeError(`Object of type ${typeof v} is not JSON serializable at ${p}`);
    if (seen.has(v)) throw new TypeError(`Circular reference detected at ${p}`);
    seen.add(v);
    if (Array.isArray(v)) v.forEach((item, i) => walk(item, `${p}[${i}]`));
    else {
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null && typeof (v as { toJSON?: unknown }).toJSON !== 'function') {
        throw new TypeError(`Object of type ${(v as object).constructor?.name ?? 'object'} is not JSON serializable at ${p}`);
      }
      if (typeof (v as { toJSON?: unknown }).toJSON !== 'function') {
        for (const [k, item] of Object.entries(v)) walk(item, `${p}.${k}`);
      }
    }
    seen.delete(v);
  };
  walk(value, path);
}
