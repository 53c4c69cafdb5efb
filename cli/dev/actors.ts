/**
 * The actors of a dev directory: every AsyncActor manifest in its YAML files (the same manifests a cluster
 * gets), how to run each one's runtime locally, and which file holds its handler.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import YAML from 'yaml';
import { AsyncActorError, parseAsyncActor, runtimeEnv, type AsyncActor } from '../../api/index.ts';

const REPO_ROOT = resolve(import.meta.dirname, '../..');

export function findActors(dir: string): AsyncActor[] {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d)) {
      const path = join(d, entry);
      if (statSync(path).isDirectory()) {
        if (entry !== 'node_modules' && !entry.startsWith('.')) walk(path);
      } else if (/\.ya?ml$/.test(entry)) files.push(path);
    }
  };
  walk(dir);
  const actors: AsyncActor[] = [];
  // Every manifest's problems at once: fixing one file should not reveal the next only on the next start.
  const problems: string[] = [];
  for (const file of files.sort()) {
    for (const doc of YAML.parseAllDocuments(readFileSync(file, 'utf8'))) {
      const value = doc.toJS() as { kind?: string } | null;
      if (value?.kind !== 'AsyncActor') continue;
      try {
        actors.push(parseAsyncActor(value, file));
      } catch (err) {
        if (!(err instanceof AsyncActorError)) throw err;
        problems.push(err.message);
      }
    }
  }
  if (problems.length > 0) throw new AsyncActorError(problems.join('\n'));
  return actors;
}

export function handlerSpec(actor: AsyncActor): string {
  return runtimeEnv(actor).ASYA_HANDLER ?? '';
}

/** `file#export` handlers run in the Node runtime, `module.function` handlers in the Python runtime. */
export function isNodeHandler(actor: AsyncActor): boolean {
  return handlerSpec(actor).includes('#');
}

export function runtimeCommandFor(actor: AsyncActor): string[] {
  if (isNodeHandler(actor)) return [process.execPath, join(REPO_ROOT, 'bin/asya.js'), 'runtime'];
  return [actor.spec.workload.pythonExecutable, join(REPO_ROOT, 'runtime/python/asya_runtime.py')];
}

/** Where dev mode's Python runtimes import handlers from, in the order Python searches them. */
export function pythonPath(dir: string): string[] {
  return [join(dir, 'handlers'), dir];
}

/**
 * The file that holds an actor's handler, to watch for edits: the file before `#` for Node; for Python the
 * longest dotted prefix that names a module file (or package) on the dev PYTHONPATH, as the runtime imports it.
 */
export function handlerFile(actor: AsyncActor, dir: string): string | undefined {
  const spec = handlerSpec(actor);
  if (isNodeHandler(actor)) {
    const file = resolve(dir, spec.slice(0, spec.indexOf('#')));
    return existsSync(file) ? file : undefined;
  }
  const parts = spec.split('.');
  for (let end = parts.length - 1; end >= 1; end--) {
    const modulePath = join(...parts.slice(0, end));
    for (const root of pythonPath(dir)) {
      for (const candidate of [join(root, `${modulePath}.py`), join(root, modulePath, '__init__.py')]) {
        if (existsSync(candidate)) return candidate;
      }
    }
  }
  return undefined;
}

/** Files that change how a Node handler loads: its module format, its TypeScript settings. */
const NODE_PROJECT_FILES = ['package.json', 'tsconfig.json'];

/**
 * What to watch for an actor: its handler file and, for a Node handler, package.json and tsconfig.json
 * beside it and at the top of the dev directory (they need not exist yet: creating one counts too).
 */
export function watchedFiles(actor: AsyncActor, dir: string): string[] {
  const handler = handlerFile(actor, dir);
  if (!handler) return [];
  if (!isNodeHandler(actor)) return [handler];
  const dirs = [...new Set([dirname(handler), resolve(dir)])];
  return [handler, ...dirs.flatMap((d) => NODE_PROJECT_FILES.map((name) => join(d, name)))];
}
