/**
 * Loads `<file>#<export>` or `<file>#<Class>.<method>`. The file is resolved from the working directory;
 * TypeScript files load through tsx, which the `asya` entry point registers, so no build step is needed.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { errorText } from '../../protocol/errors.ts';

export type Handler = (input: unknown) => unknown;

export class HandlerLoadError extends Error {
  override readonly name = 'HandlerLoadError';
}

const HANDLER_SPEC = /^(?<file>[^#]+)#(?<name>[A-Za-z_$][\w$]*)(?:\.(?<method>[A-Za-z_$][\w$]*))?$/;
const LOADABLE_EXTENSIONS = new Set(['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts']);
const TYPESCRIPT_EXTENSIONS = new Set(['.ts', '.mts', '.cts']);

/**
 * TypeScript handlers load through tsx, whatever the nearest package.json says. In an ES module scope
 * (`"type": "module"`, or .mts) tsImport loads the file itself. Elsewhere (a new project has no package.json)
 * tsx compiles it to CommonJS, and tsImport would then run it from a `data:` URL: every stack frame of the
 * handler would be a 3 KB URL instead of `file.ts:line:col`. tsx's require loads that same CommonJS from the
 * file's own path, so traces point at the file. The bundled CLI loads tsx only when a handler is TypeScript.
 */
async function importTypeScript(path: string): Promise<Record<string, unknown>> {
  if (extname(path) !== '.mts' && packageType(dirname(path)) !== 'module') {
    const { require } = await import('tsx/cjs/api');
    return require(path, import.meta.url) as Record<string, unknown>;
  }
  const { tsImport } = await import('tsx/esm/api');
  return (await tsImport(pathToFileURL(path).href, import.meta.url)) as Record<string, unknown>;
}

/** The `type` of the nearest package.json above a directory, as Node decides a file's module format. */
function packageType(dir: string): string | undefined {
  for (let at = dir; ; at = dirname(at)) {
    const file = join(at, 'package.json');
    if (existsSync(file)) {
      try {
        return (JSON.parse(readFileSync(file, 'utf8')) as { type?: string }).type;
      } catch {
        return undefined;
      }
    }
    if (dirname(at) === at) return undefined;
  }
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
    module = TYPESCRIPT_EXTENSIONS.has(extname(path)) ? await importTypeScript(path) : ((await import(pathToFileURL(path).href)) as Record<string, unknown>);
  } catch (err) {
    throw new HandlerLoadError(`Failed to import ${file}: ${errorText(err)}`, { cause: err });
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
    throw new HandlerLoadError(`Failed to instantiate ${where}: ${errorText(err)}`, { cause: err });
  }
  const bound = instance[method];
  if (typeof bound !== 'function') throw new HandlerLoadError(`${where} has no method '${method}'`);
  return (bound as Handler).bind(instance);
}
