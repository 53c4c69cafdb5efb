/**
 * Loads `<file>#<export>` or `<file>#<Class>.<method>`. The file is resolved from the working directory;
 * TypeScript files load with no build step: by Node itself where it strips types (Node ≥ 22.18), else, or
 * when the file needs more than stripping, through tsx.
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
 * Node's own type stripping (Node ≥ 22.18 does it by default) loads a TypeScript handler in a fraction of
 * tsx's time, whose loader compiles in a worker thread: what a cold start (scale from zero) pays for it.
 * What stripping cannot run falls back to tsx: syntax it does not strip (enum, namespace, parameter
 * properties, decorators), imports written without an extension or a path alias, `.ts` inside
 * node_modules. Each of those fails while the module loads, before its code runs. (Only a SyntaxError
 * or a missing module from the handler's own top-level code, a `JSON.parse` or a dynamic `import()`, would
 * run that code again under tsx, where it fails the same way and is reported.)
 */
async function importTypeScript(path: string): Promise<Record<string, unknown>> {
  // `features.typescript` is newer than the Node types this project builds against (Node 20's). From the
  // sources (bin/asya.js) tsx is registered for the whole process, and its hooks would take the import anyway.
  const tsxRegistered = (globalThis as Record<symbol, unknown>)[Symbol.for('asya.tsx-registered')] === true;
  if ((process.features as { typescript?: string | false }).typescript && !tsxRegistered) {
    try {
      return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
    } catch (err) {
      if (!needsMoreThanStripping(err)) throw err;
    }
  }
  return importWithTsx(path);
}

/** Errors of loading, not of running: the file's syntax, or what it imports, is beyond type stripping. */
const BEYOND_STRIPPING = new Set([
  'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX',
  'ERR_INVALID_TYPESCRIPT_SYNTAX',
  'ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING',
  'ERR_MODULE_NOT_FOUND',
  'ERR_UNSUPPORTED_DIR_IMPORT',
  'ERR_UNKNOWN_FILE_EXTENSION',
]);

function needsMoreThanStripping(err: unknown): boolean {
  // A SyntaxError without a code is a parse or link error (decorators, a type imported without `type`).
  return err instanceof SyntaxError || BEYOND_STRIPPING.has(String((err as { code?: unknown })?.code));
}

/**
 * Through tsx, whatever the nearest package.json says. In an ES module scope
 * (`"type": "module"`, or .mts) tsImport loads the file itself. Elsewhere (a new project has no package.json)
 * tsx compiles it to CommonJS, and tsImport would then run it from a `data:` URL: every stack frame of the
 * handler would be a 3 KB URL instead of `file.ts:line:col`. tsx's require loads that same CommonJS from the
 * file's own path, so traces point at the file. The bundled CLI loads tsx only when a handler is TypeScript.
 */
async function importWithTsx(path: string): Promise<Record<string, unknown>> {
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
