/**
 * Loads `<file>#<export>` or `<file>#<Class>.<method>`. The file is resolved from the working directory;
 * TypeScript files load through tsx, which the `asya` entry point registers, so no build step is needed.
 */
import { existsSync, statSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export type Handler = (input: unknown) => unknown;

export class HandlerLoadError extends Error {
  override readonly name = 'HandlerLoadError';
}

const HANDLER_SPEC = /^(?<file>[^#]+)#(?<name>[A-Za-z_$][\w$]*)(?:\.(?<method>[A-Za-z_$][\w$]*))?$/;
const LOADABLE_EXTENSIONS = new Set(['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts']);
const TYPESCRIPT_EXTENSIONS = new Set(['.ts', '.mts', '.cts']);

/**
 * TypeScript handlers load through tsx's tsImport, which compiles the file as an ES module whatever the
 * nearest package.json says: a handler copied into a folder without `"type": "module"` would otherwise be
 * taken for CommonJS and fail to load. The bundled CLI loads tsx only when a handler is TypeScript.
 */
async function importTypeScript(url: string): Promise<Record<string, unknown>> {
  const { tsImport } = await import('tsx/esm/api');
  return (await tsImport(url, import.meta.url)) as Record<string, unknown>;
}

export function parseHandlerSpec(spec: string): { file: string; name: string; method?: string } {
  const match = HANDLER_SPEC.exec(spec.trim());
  if (!match?.groups) {
    throw new HandlerLoadError(
      `Invalid ASYA_HANDLER=${JSON.stringify(spec)}: expected <file>#<export> or <file>#<Class>.<method>, e.g. handlers/echo.ts#process`,
    );
  }
  const { file, name, method } = match.groups as { file: string; name: string; method?: string };
  return method ? { file, name, method } : { file, name };
}

export async function loadHandler(spec: string, cwd = process.cwd()): Promise<Handler> {
  const { file, name, method } = parseHandlerSpec(spec);
  const path = resolve(cwd, file);
  if (!LOADABLE_EXTENSIONS.has(extname(path))) {
    throw new HandlerLoadError(`Handler file ${file} must end in .js, .mjs, .cjs, .ts, .mts or .cts`);
  }
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new HandlerLoadError(`Handler file not found: ${path} (resolved from ${cwd})`);
  }
  let module: Record<string, unknown>;
  try {
    const url = pathToFileURL(path).href;
    module = TYPESCRIPT_EXTENSIONS.has(extname(path)) ? await importTypeScript(url) : ((await import(url)) as Record<string, unknown>);
  } catch (err) {
    throw new HandlerLoadError(`Failed to import ${file}: ${(err as Error).message}`, { cause: err });
  }
  const exported = module[name];
  if (exported === undefined) {
    const available = Object.keys(module).filter((k) => k !== 'default').join(', ') || 'none';
    throw new HandlerLoadError(`${file} has no export named '${name}' (exports: ${available})`);
  }
  if (method === undefined) {
    if (typeof exported !== 'function') throw new HandlerLoadError(`Export '${name}' of ${file} is not callable`);
    return exported as Handler;
  }
  return instantiate(exported, `${file}#${name}`, method);
}

function instantiate(exported: unknown, where: string, method: string): Handler {
  if (typeof exported !== 'function' || !/^class[\s{]/.test(Function.prototype.toString.call(exported))) {
    throw new HandlerLoadError(`${where} is not a class, so '${where}.${method}' cannot be loaded`);
  }
  // A function's length counts the parameters before the first default: those are required arguments.
  if (exported.length > 0) {
    throw new HandlerLoadError(
      `${where} cannot be instantiated without arguments: its constructor has ${exported.length} required parameter(s); give every parameter a default`,
    );
  }
  let instance: Record<string, unknown>;
  try {
    instance = new (exported as new () => Record<string, unknown>)();
  } catch (err) {
    throw new HandlerLoadError(`Failed to instantiate ${where}: ${(err as Error).message}`, { cause: err });
  }
  const bound = instance[method];
  if (typeof bound !== 'function') throw new HandlerLoadError(`${where} has no method '${method}'`);
  return (bound as Handler).bind(instance);
}
