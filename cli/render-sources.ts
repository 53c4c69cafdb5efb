/**
 * The input of `asya render`: every Kubernetes object in the YAML files under a directory, read the way
 * `kpt fn source` reads a package (it honours the package's `.krmignore`), each tagged with the file it came
 * from so that a function's result can name the file.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { isPlainObject } from '../protocol/json.ts';
import { loadManifestDocuments, type KubeObject } from '../krm-functions/resource-list.ts';
import { errorText } from '../protocol/errors.ts';

/** The annotation kpt uses for an item's file; the functions copy it into their results (`file.path`). */
export const PATH_ANNOTATION = 'internal.config.kubernetes.io/path';

export class RenderInputError extends Error {
  override readonly name = 'RenderInputError';
}

/** kustomize's own files describe how to build, they are not objects to transform. */
const KUSTOMIZATION_FILES = new Set(['kustomization.yaml', 'kustomization.yml', 'Kustomization']);

/**
 * The subset of gitignore syntax .krmignore files use: `#` comments, `dir/` for a directory, a path with a
 * `/` anchored at the package root, a bare name matching at any depth, `*` and `?` within one path part.
 */
function krmIgnore(dir: string): (path: string, isDir: boolean) => boolean {
  const file = join(dir, '.krmignore');
  if (!existsSync(file)) return () => false;
  const rules = readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const dirOnly = line.endsWith('/');
      const pattern = line.replace(/^\/|\/$/g, '');
      const glob = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
      const anchored = pattern.includes('/');
      return { dirOnly, regex: new RegExp(anchored ? `^${glob}$` : `(^|/)${glob}$`) };
    });
  return (path, isDir) => rules.some((rule) => (!rule.dirOnly || isDir) && rule.regex.test(path));
}

function yamlFiles(dir: string, skip: string | undefined): string[] {
  const ignored = krmIgnore(dir);
  const files: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d).sort()) {
      const path = join(d, entry);
      const rel = relative(dir, path).split(sep).join('/');
      const isDir = statSync(path).isDirectory();
      if (entry.startsWith('.') || entry === 'node_modules' || path === skip || ignored(rel, isDir)) continue;
      if (isDir) walk(path);
      else if (/\.ya?ml$/.test(entry) && !KUSTOMIZATION_FILES.has(entry)) files.push(path);
    }
  };
  walk(dir);
  return files;
}

/**
 * Every object under `dir` (files in path order, documents in file order), except under `skip` (the output
 * folder, when it lies inside). A document with neither apiVersion nor kind is not a Kubernetes object (a
 * tools file, a demo file, a CI workflow) and is passed over; one with only some of the fields is an error.
 */
export function readObjects(dir: string, skip?: string): KubeObject[] {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new RenderInputError(`${dir}: not a directory`);
  const objects: KubeObject[] = [];
  const problems: string[] = [];
  for (const file of yamlFiles(root, skip && resolve(skip))) {
    const rel = relative(root, file).split(sep).join('/');
    let documents: unknown[];
    try {
      documents = loadManifestDocuments(readFileSync(file, 'utf8'));
    } catch (err) {
      problems.push(`${rel}: not valid YAML: ${errorText(err).split('\n')[0]}`);
      continue;
    }
    documents.forEach((doc, index) => {
      if (!isPlainObject(doc) || (doc.apiVersion === undefined && doc.kind === undefined)) return;
      const meta = doc.metadata;
      if (typeof doc.apiVersion !== 'string' || typeof doc.kind !== 'string' || !isPlainObject(meta) || typeof meta.name !== 'string' || !meta.name) {
        problems.push(`${rel}: document ${index + 1} is not a Kubernetes object (apiVersion, kind and metadata.name are required)`);
        return;
      }
      const annotations = isPlainObject(meta.annotations) ? meta.annotations : {};
      objects.push({ ...doc, apiVersion: doc.apiVersion, kind: doc.kind, metadata: { ...meta, name: meta.name, annotations: { ...annotations, [PATH_ANNOTATION]: rel } } });
    });
  }
  if (problems.length) throw new RenderInputError(problems.join('\n'));
  return objects;
}
