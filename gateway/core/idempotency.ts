/**
 * What an idempotency key stands for: one request, identified by a hash of its tool name and its checked
 * arguments. The hash is of canonical JSON (object keys sorted at every depth), so a client that sends the
 * same arguments with its keys in another order is repeating itself, not changing its mind.
 */
import { createHash } from 'node:crypto';
import { isPlainObject, type JsonValue } from '../../protocol/json.ts';

export function canonicalJson(value: JsonValue): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isPlainObject(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k] as JsonValue)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function requestHash(toolName: string, args: JsonValue): string {
  return createHash('sha256').update(canonicalJson([toolName, args])).digest('hex');
}
