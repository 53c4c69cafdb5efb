/**
 * The JSON Schema a tool advertises in tools/list. Better than the original's, which said "number" for
 * integers, "string" for objects and dropped defaults: each type here is what the validator enforces.
 */
import type { JsonObject } from '../../protocol/json.ts';
import type { ParameterSpec } from './config.ts';

export function inputSchemaFor(parameters: Record<string, ParameterSpec>): JsonObject {
  return objectSchema(parameters);
}

function objectSchema(properties: Record<string, ParameterSpec>): JsonObject {
  const required = Object.entries(properties)
    .filter(([, spec]) => spec.required === true)
    .map(([name]) => name);
  // `properties` always present and `required` only when non-empty, as the original's tools/list.
  return {
    type: 'object',
    properties: Object.fromEntries(Object.entries(properties).map(([name, spec]) => [name, schemaFor(spec)])),
    ...(required.length > 0 ? { required } : {}),
  };
}

export function schemaFor(spec: ParameterSpec): JsonObject {
  const schema: JsonObject =
    spec.type === 'object' ? objectSchema(spec.properties ?? {}) : { type: spec.type };
  if (spec.description) schema.description = spec.description;
  if (spec.options) schema.enum = spec.options;
  if (spec.type === 'array' && spec.items) schema.items = schemaFor(spec.items);
  if (spec.default !== undefined) schema.default = spec.default;
  return schema;
}
