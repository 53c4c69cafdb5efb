/**
 * Checks a tool call's arguments against the tool's parameters and fills in defaults. The original only
 * checked that required keys were present; a wrong type reached the actor and failed there, minutes later.
 *
 * Rules: a missing or null parameter takes its default; without one it is an error if required and left
 * out otherwise. Keys the tool does not declare pass through untouched, as in the original.
 */
import { isPlainObject, type JsonObject, type JsonValue } from '../../protocol/json.ts';
import type { ParameterSpec } from './config.ts';

export type ArgumentsCheck = { ok: true; value: JsonObject } | { ok: false; errors: string[] };

export function checkArguments(parameters: Record<string, ParameterSpec>, args: unknown): ArgumentsCheck {
  if (args === undefined || args === null) args = {};
  if (!isPlainObject(args)) return { ok: false, errors: [`arguments must be an object, got ${kind(args)}`] };
  const errors: string[] = [];
  const value = checkObject(parameters, args as JsonObject, '', errors);
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value };
}

function checkObject(params: Record<string, ParameterSpec>, input: JsonObject, prefix: string, errors: string[]): JsonObject {
  const out: JsonObject = { ...input };
  for (const [name, spec] of Object.entries(params)) {
    const path = `${prefix}${name}`;
    const given = Object.hasOwn(input, name) ? input[name] : undefined;
    if (given === undefined || given === null) {
      if (spec.default !== undefined) out[name] = structuredClone(spec.default);
      else if (spec.required) errors.push(`missing required parameter: ${path}`);
      else delete out[name];
      continue;
    }
    out[name] = checkValue(spec, given, path, errors);
  }
  return out;
}

function checkValue(spec: ParameterSpec, value: JsonValue, path: string, errors: string[]): JsonValue {
  const wrong = () => {
    errors.push(`invalid parameter ${path}: expected ${article(spec.type)}, got ${kind(value)}`);
    return value;
  };
  switch (spec.type) {
    case 'string':
      if (typeof value !== 'string') return wrong();
      break;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) return wrong();
      break;
    case 'integer':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) return wrong();
      break;
    case 'boolean':
      if (typeof value !== 'boolean') return wrong();
      break;
    case 'object':
      if (!isPlainObject(value)) return wrong();
      return spec.properties ? checkObject(spec.properties, value as JsonObject, `${path}.`, errors) : value;
    case 'array':
      if (!Array.isArray(value)) return wrong();
      return spec.items ? value.map((item, i) => checkItem(spec.items as ParameterSpec, item, `${path}[${i}]`, errors)) : value;
  }
  if (spec.options && !spec.options.includes(value as string | number)) {
    errors.push(`invalid parameter ${path}: must be one of ${spec.options.map((o) => JSON.stringify(o)).join(', ')}; got ${JSON.stringify(value)}`);
  }
  return value;
}

function checkItem(spec: ParameterSpec, item: JsonValue, path: string, errors: string[]): JsonValue {
  if (item === null) {
    errors.push(`invalid parameter ${path}: expected ${article(spec.type)}, got null`);
    return item;
  }
  return checkValue(spec, item, path, errors);
}

function article(type: string): string {
  return type === 'integer' || type === 'object' || type === 'array' ? `an ${type}` : `a ${type}`;
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return `the number ${value}`;
  if (typeof value === 'string') return value.length > 40 ? 'a string' : `the string ${JSON.stringify(value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}
