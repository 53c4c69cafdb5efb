/** One tools YAML file, read strictly into what load.ts merges and resolves. */
import { isSeq, type Node } from 'yaml';
import { isPlainObject, type JsonValue } from '../../protocol/json.ts';
import { isValidActorName } from '../../protocol/queues.ts';
import { PARAMETER_TYPES, type ParameterSpec, type ParameterType } from './config.ts';
import { YamlReader } from './yaml-reader.ts';

const TOP_KEYS = ['defaults', 'routes', 'tools'] as const;
const DEFAULT_KEYS = ['progress', 'timeout'] as const;
const TOOL_KEYS = ['name', 'description', 'parameters', 'route', 'progress', 'timeout', 'metadata'] as const;
const PARAMETER_KEYS = ['type', 'description', 'required', 'default', 'options', 'properties', 'items'] as const;
const ITEM_KEYS = ['type', 'description', 'options', 'properties', 'items'] as const;
/** The MCP specification's recommended tool-name alphabet (2025-11-25). */
const TOOL_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

/** Where something was written, for messages that come up after parsing (duplicates, unknown templates). */
export interface Located<T> {
  value: T;
  at: string;
}

export interface ParsedTool {
  name: Located<string>;
  description: string;
  parameters: Record<string, ParameterSpec>;
  /** Actors, or the name of a route template. */
  route: Located<string[] | string> | undefined;
  progress?: boolean;
  timeoutSeconds?: number;
  metadata?: Record<string, string>;
}

export interface ParsedFile {
  file: string;
  defaults: { progress?: Located<boolean>; timeoutSeconds?: Located<number> };
  routes: Map<string, Located<string[]>>;
  tools: ParsedTool[];
}

export function parseToolsFile(file: string, text: string): ParsedFile {
  const r = new YamlReader(file, text);
  const parsed: ParsedFile = { file, defaults: {}, routes: new Map(), tools: [] };
  for (const { key, value } of r.entries(r.root, '(top level)', TOP_KEYS)) {
    if (key === 'defaults') parseDefaults(r, value, parsed);
    else if (key === 'routes') {
      for (const route of r.entries(value, 'routes')) {
        parsed.routes.set(route.key, { value: actorList(r, route.value, `routes.${route.key}`), at: r.where(route.keyNode) });
      }
    } else parsed.tools = r.items(value, 'tools').map((node, i) => parseTool(r, node, `tools[${i}]`));
  }
  return parsed;
}

function parseDefaults(r: YamlReader, node: Node | null, parsed: ParsedFile): void {
  for (const { key, value } of r.entries(node, 'defaults', DEFAULT_KEYS)) {
    const at = r.where(value);
    if (key === 'progress') parsed.defaults.progress = { value: r.boolean(value, 'defaults.progress'), at };
    else parsed.defaults.timeoutSeconds = { value: r.seconds(value, 'defaults.timeout'), at };
  }
}

function parseTool(r: YamlReader, node: Node, field: string): ParsedTool {
  // The name first, so every later message can say which tool it is about.
  const nameEntry = r.entries(node, field).find((e) => e.key === 'name');
  if (!nameEntry || r.isNull(nameEntry.value)) r.fail(node, field, 'name is required');
  const name = r.string(nameEntry.value, `${field}.name`);
  if (!TOOL_NAME.test(name)) {
    r.fail(nameEntry.value, `${field}.name`, `"${name}" must be 1-128 characters of A-Z a-z 0-9 _ - .`);
  }
  const label = `tools[${name}]`;
  const entries = r.entries(node, label, TOOL_KEYS);
  const tool: ParsedTool = { name: { value: name, at: r.where(nameEntry.value) }, description: '', parameters: {}, route: undefined };
  for (const { key, value } of entries) {
    if (r.isNull(value) && key !== 'route') continue;
    const f = `${label}.${key}`;
    switch (key) {
      case 'description':
        tool.description = r.string(value, f);
        break;
      case 'parameters':
        tool.parameters = parameterMap(r, value, `${label}.parameters`);
        break;
      case 'route':
        tool.route = { value: parseRoute(r, value, f), at: r.where(value) };
        break;
      case 'progress':
        tool.progress = r.boolean(value, f);
        break;
      case 'timeout':
        tool.timeoutSeconds = r.seconds(value, f);
        break;
      case 'metadata':
        tool.metadata = Object.fromEntries(r.entries(value, f).map((e) => [e.key, r.text(e.value, `${f}.${e.key}`)]));
        break;
    }
  }
  return tool;
}

function parseRoute(r: YamlReader, node: Node | null, field: string): string[] | string {
  if (r.isNull(node)) r.fail(node, field, 'route has no actors or template');
  if (!isSeq(node)) {
    const template = r.string(node, field);
    if (template === '') r.fail(node, field, 'route has no actors or template');
    return template;
  }
  return actorList(r, node, field);
}

function actorList(r: YamlReader, node: Node | null, field: string): string[] {
  const actors = r.items(node, field).map((item, i) => {
    const actor = r.string(item, `${field}[${i}]`);
    if (!isValidActorName(actor)) {
      r.fail(item, `${field}[${i}]`, `"${actor}" is not a valid actor name (lowercase letters, digits and '-', at most 63)`);
    }
    return actor;
  });
  if (actors.length === 0) r.fail(node, field, 'route cannot be empty');
  return actors;
}

function parameterMap(r: YamlReader, node: Node | null, field: string): Record<string, ParameterSpec> {
  const params: Record<string, ParameterSpec> = {};
  for (const { key, value } of r.entries(node, field)) params[key] = parameter(r, value, `${field}.${key}`, PARAMETER_KEYS);
  return params;
}

function parameter(r: YamlReader, node: Node | null, field: string, allowed: readonly string[]): ParameterSpec {
  const entries = r.entries(node, field, allowed);
  const typeEntry = entries.find((e) => e.key === 'type');
  if (!typeEntry) r.fail(node, field, `type is required (one of ${PARAMETER_TYPES.join(', ')})`);
  const type = r.string(typeEntry.value, `${field}.type`) as ParameterType;
  if (!PARAMETER_TYPES.includes(type)) {
    r.fail(typeEntry.value, `${field}.type`, `unknown type "${type}" (one of ${PARAMETER_TYPES.join(', ')})`);
  }
  const spec: ParameterSpec = { type };
  let defaultNode: Node | null = null;
  for (const { key, value } of entries) {
    if (key === 'type' || (r.isNull(value) && key !== 'default')) continue;
    const f = `${field}.${key}`;
    if (key === 'description') spec.description = r.string(value, f);
    else if (key === 'required') spec.required = r.boolean(value, f);
    else if (key === 'default') {
      spec.default = r.json(value);
      defaultNode = value;
    } else if (key === 'options') spec.options = options(r, value, f, type);
    else if (key === 'properties') {
      if (type !== 'object') r.fail(value, f, `only an object parameter has properties (this one is ${type})`);
      spec.properties = parameterMap(r, value, f);
    } else if (key === 'items') {
      if (type !== 'array') r.fail(value, f, `only an array parameter has items (this one is ${type})`);
      spec.items = parameter(r, value, f, ITEM_KEYS);
    }
  }
  if (spec.default !== undefined) {
    const problem = defaultProblem(spec, spec.default);
    if (problem) r.fail(defaultNode, `${field}.default`, problem);
  }
  return spec;
}

function options(r: YamlReader, node: Node | null, field: string, type: ParameterType): Array<string | number> {
  if (type !== 'string' && type !== 'number' && type !== 'integer') {
    r.fail(node, field, `options are for string, number or integer parameters (this one is ${type})`);
  }
  const values = r.items(node, field).map((item, i) => {
    const value = r.json(item);
    const ok = type === 'string' ? typeof value === 'string' : typeof value === 'number' && (type === 'number' || Number.isInteger(value));
    if (!ok) r.fail(item, `${field}[${i}]`, `must be ${type === 'integer' ? 'an integer' : `a ${type}`}, got ${r.describe(item)}`);
    return value as string | number;
  });
  if (values.length === 0) r.fail(node, field, 'options cannot be empty');
  return values;
}

/** A default must itself be a valid value, or every call that relies on it would be rejected. */
function defaultProblem(spec: ParameterSpec, value: JsonValue): string | undefined {
  const typeOk: Record<ParameterType, (v: JsonValue) => boolean> = {
    string: (v) => typeof v === 'string',
    number: (v) => typeof v === 'number',
    integer: (v) => Number.isInteger(v),
    boolean: (v) => typeof v === 'boolean',
    object: (v) => isPlainObject(v),
    array: (v) => Array.isArray(v),
  };
  if (!typeOk[spec.type](value)) return `default ${JSON.stringify(value)} is not ${spec.type === 'integer' ? 'an integer' : `a ${spec.type}`}`;
  if (spec.options && !spec.options.includes(value as string | number)) {
    return `default ${JSON.stringify(value)} is not one of the options`;
  }
  return undefined;
}
