/**
 * Loads the tools configuration from a file or a directory (every *.yaml / *.yml in it, in name order),
 * merges the files, resolves route templates and applies option defaults (docs/gateway.md, "Tools").
 *
 * Differences from the original, each for a clearer failure: the same `defaults` key in two files is an
 * error (the original let the last file win silently); tool names follow the MCP naming rule; actor names
 * must be valid queue names.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_TOOL_OPTIONS, ToolConfigError, type Tool } from './config.ts';
import { inputSchemaFor } from './json-schema.ts';
import { parseToolsFile, type Located, type ParsedFile } from './parse.ts';
import { ToolSet } from './tool-set.ts';
import { errorText } from '../../protocol/errors.ts';

export async function loadTools(path: string): Promise<ToolSet> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw new ToolConfigError(`${path}: cannot read the tools configuration: ${errorText(err)}`);
  }
  const files = info.isDirectory()
    ? (await readdir(path)).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(path, f))
    : [path];
  if (files.length === 0) throw new ToolConfigError(`${path}: no *.yaml or *.yml files in this directory`);
  const parsed = await Promise.all(files.map(async (file) => parseToolsFile(file, await readFile(file, 'utf8'))));
  return new ToolSet(buildTools(parsed, path));
}

export function buildTools(files: readonly ParsedFile[], source = files[0]?.file ?? 'tools'): Tool[] {
  const routes = new Map<string, Located<string[]>>();
  const defaults: { progress?: Located<boolean>; timeoutSeconds?: Located<number> } = {};
  const names = new Map<string, string>();
  for (const file of files) {
    for (const [name, route] of file.routes) {
      const first = routes.get(name);
      if (first) throw new ToolConfigError(`${route.at}: routes.${name}: route template "${name}" is already defined at ${first.at}`);
      routes.set(name, route);
    }
    for (const key of ['progress', 'timeoutSeconds'] as const) {
      const value = file.defaults[key];
      const first = defaults[key];
      if (value && first) {
        throw new ToolConfigError(`${value.at}: defaults.${key === 'progress' ? 'progress' : 'timeout'}: already set at ${first.at}`);
      }
      if (value) (defaults as Record<string, unknown>)[key] = value;
    }
    for (const tool of file.tools) {
      const first = names.get(tool.name.value);
      if (first) throw new ToolConfigError(`${tool.name.at}: tools[${tool.name.value}]: duplicate tool name (first defined at ${first})`);
      names.set(tool.name.value, tool.name.at);
    }
  }
  const tools = files.flatMap((f) => f.tools);
  if (tools.length === 0) throw new ToolConfigError(`${source}: no tools defined`);
  return tools.map((t): Tool => {
    const label = `tools[${t.name.value}]`;
    if (!t.route) throw new ToolConfigError(`${t.name.at}: ${label}: route has no actors or template`);
    let actors: string[];
    if (typeof t.route.value === 'string') {
      const template = routes.get(t.route.value);
      if (!template) throw new ToolConfigError(`${t.route.at}: ${label}.route: route template "${t.route.value}" not found`);
      actors = template.value;
    } else actors = t.route.value;
    return {
      name: t.name.value,
      description: t.description,
      parameters: t.parameters,
      actors: [...actors],
      progress: t.progress ?? defaults.progress?.value ?? DEFAULT_TOOL_OPTIONS.progress,
      timeoutSeconds: t.timeoutSeconds ?? defaults.timeoutSeconds?.value ?? DEFAULT_TOOL_OPTIONS.timeoutSeconds,
      ...(t.metadata && Object.keys(t.metadata).length > 0 ? { metadata: t.metadata } : {}),
      inputSchema: inputSchemaFor(t.parameters),
    };
  });
}
