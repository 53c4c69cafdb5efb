/**
 * The tools configuration in the original gateway's YAML format (docs/gateway.md, "Tools"), after parsing and
 * resolution. What a file may say is in parse.ts; how files merge and routes resolve is in load.ts.
 */
import type { JsonObject, JsonValue } from '../../protocol/json.ts';

export const PARAMETER_TYPES = ['string', 'number', 'integer', 'boolean', 'object', 'array'] as const;
export type ParameterType = (typeof PARAMETER_TYPES)[number];

export interface ParameterSpec {
  type: ParameterType;
  description?: string;
  /** Only meaningful for a tool's parameters and an object's properties, not for array items. */
  required?: boolean;
  default?: JsonValue;
  /** The allowed values (the original's name for a JSON Schema enum). */
  options?: Array<string | number>;
  /** For `object`: its fields. */
  properties?: Record<string, ParameterSpec>;
  /** For `array`: what every element is. */
  items?: ParameterSpec;
}

export interface ToolOptions {
  /** Clients may wait for the final result (MCP progress) and get a stream_url. @default false */
  progress: boolean;
  /** Seconds until the envelope's deadline; 0 means none. @default 300 (the original's 5m) */
  timeoutSeconds: number;
}

export interface Tool extends ToolOptions {
  name: string;
  description: string;
  parameters: Record<string, ParameterSpec>;
  /** The route every call of this tool takes. */
  actors: string[];
  /** Echoed in the tool-call response. */
  metadata?: Record<string, string>;
  /** JSON Schema of the arguments, as advertised in tools/list. */
  inputSchema: JsonObject;
}

export const DEFAULT_TOOL_OPTIONS: ToolOptions = { progress: false, timeoutSeconds: 300 };

/** Every problem names the file, the line and column, and the field, so a broken config is a quick fix. */
export class ToolConfigError extends Error {
  override readonly name = 'ToolConfigError';
}
