/** The gateway's tools: loading the YAML configuration, JSON Schema, argument checks. */
export * from './config.ts';
export { checkArguments, type ArgumentsCheck } from './arguments.ts';
export { inputSchemaFor } from './json-schema.ts';
export { buildTools, loadTools } from './load.ts';
export { parseToolsFile } from './parse.ts';
export { shortened, ToolSet } from './tool-set.ts';
