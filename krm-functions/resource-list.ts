/**
 * The KRM function wire formats, on plain objects (docs/deployment.md, "With kpt" and "With kustomize"):
 * - KRM mode (kpt `--exec`, kpt render, standalone kustomize `--enable-exec`): a ResourceList on stdin and
 *   on stdout, with `results`.
 * - kustomize's legacy exec-plugin mode (`kubectl kustomize --enable-alpha-plugins`): argv[2] is a file
 *   holding the plugin's config resource, stdin and stdout are multi-document YAML streams, errors go to
 *   stderr with a non-zero exit.
 * Either way a function is one pure `transform(items, functionConfig)`; this module only moves bytes.
 *
 * The wire uses js-yaml, not the `yaml` package the rest of the code uses: at 1,000 actors a function reads
 * and writes megabytes, and js-yaml parses them about ten times faster (bench/krm); block-yaml.ts writes
 * js-yaml's text about three times faster than js-yaml. Output stays block YAML: kpt keeps the style it is
 * given, so JSON output would land in users' files as flow style.
 */
import jsyaml from 'js-yaml';
import { isPlainObject } from '../protocol/json.ts';
import { errorText } from '../protocol/errors.ts';
import { dumpBlockYaml } from './block-yaml.ts';
import { NOT_BLOCK_YAML, readBlockYaml } from './block-yaml-reader.ts';

/** Plain YAML: shared objects are written out in full, never as anchors and aliases some tools reject. */
export const stringify = (value: unknown) => dumpBlockYaml(value);

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

export interface ResourceRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface Result {
  message: string;
  severity: 'error' | 'warning' | 'info';
  resourceRef?: ResourceRef;
  field?: { path: string };
  file?: { path: string; index?: number };
}

export interface FunctionOutput {
  items: KubeObject[];
  results: Result[];
}

export type KrmTransform = (items: KubeObject[], functionConfig: unknown) => FunctionOutput;

export interface FunctionInput {
  mode: 'krm' | 'legacy';
  items: KubeObject[];
  functionConfig: unknown;
}

export class InputError extends Error {
  override readonly name = 'InputError';
}


/**
 * js-yaml's default schema less its timestamps. A plain `2024-01-01` anywhere in a package is a string to
 * Kubernetes (sigs.k8s.io/yaml and kpt's kyaml keep it so), but js-yaml made it a Date and the function
 * wrote it back as `2024-01-01T00:00:00.000Z`, changing objects it only passed through. Without the type
 * it stays a string (written back quoted, as js-yaml writes a string that looks like a date), and no plain
 * scalar is tested against the timestamp patterns.
 */
// @types/js-yaml leaves out a schema's type lists and a type's tag, which js-yaml 4 keeps on both.
const DEFAULT_TYPES = jsyaml.DEFAULT_SCHEMA as jsyaml.Schema & { implicit: (jsyaml.Type & { tag: string })[]; explicit: jsyaml.Type[] };
const WIRE_SCHEMA = new jsyaml.Schema({
  implicit: DEFAULT_TYPES.implicit.filter((type) => type.tag !== 'tag:yaml.org,2002:timestamp'),
  explicit: DEFAULT_TYPES.explicit,
});

/** Every document of a YAML stream as js-yaml reads it with the wire's schema; throws js-yaml's error. */
export const loadWithJsYaml = (text: string): unknown[] => jsyaml.loadAll(text, null, { schema: WIRE_SCHEMA });

/**
 * One document in the regular block YAML a ResourceList is (block-yaml-reader.ts), or NOT_BLOCK_YAML.
 * `lazyItems`: a ResourceList's items are read as the function asks for them, and copied out as they came.
 */
export const readWireBlockYaml = (text: string, lazyItems = false): unknown => readBlockYaml(text, WIRE_SCHEMA, lazyItems);

/**
 * Every document of a YAML stream, as the functions and `asya render` read manifests; throws js-yaml's error.
 * A single document of regular block YAML (a ResourceList on a pipe) is read by the fast reader, the same values.
 */
export function loadManifestDocuments(text: string, lazyItems = false): unknown[] {
  const document = readWireBlockYaml(text, lazyItems);
  return document === NOT_BLOCK_YAML ? loadWithJsYaml(text) : [document];
}

function parseDocuments(text: string, source: string, lazyItems = false): unknown[] {
  try {
    return loadManifestDocuments(text, lazyItems).filter((value) => value !== null && value !== undefined);
  } catch (err) {
    throw new InputError(`${source} is not valid YAML: ${errorText(err).split('\n')[0]}`);
  }
}

function asItems(values: unknown[], source: string): KubeObject[] {
  return values.map((value, i) => {
    if (!isPlainObject(value) || typeof value.kind !== 'string' || typeof value.apiVersion !== 'string' || !isPlainObject(value.metadata)) {
      throw new InputError(`${source}: item ${i} is not a Kubernetes object (apiVersion, kind and metadata are required)`);
    }
    return value as KubeObject;
  });
}

/** Reads a function's input. `legacyConfig` is the text of the file kustomize names in argv[2]. */
export function parseInput(stdin: string, legacyConfig?: string): FunctionInput {
  if (legacyConfig !== undefined) {
    const [config] = parseDocuments(legacyConfig, 'the plugin config file');
    return { mode: 'legacy', items: asItems(parseDocuments(stdin, 'stdin'), 'stdin'), functionConfig: config };
  }
  const docs = parseDocuments(stdin, 'stdin', true);
  const list = docs[0];
  if (docs.length !== 1 || !isPlainObject(list) || list.kind !== 'ResourceList') {
    throw new InputError('expected a ResourceList on stdin (kpt fn eval/render, kustomize --enable-exec), or a plugin config file as the first argument (kubectl kustomize --enable-alpha-plugins)');
  }
  const items = list.items ?? [];
  if (!Array.isArray(items)) throw new InputError('ResourceList.items must be a list');
  return { mode: 'krm', items: asItems(items, 'ResourceList.items'), functionConfig: list.functionConfig };
}

export const hasErrors = (results: Result[]) => results.some((r) => r.severity === 'error');

export function formatResult(r: Result): string {
  const ref = r.resourceRef ? `${r.resourceRef.kind}/${r.resourceRef.namespace ? `${r.resourceRef.namespace}/` : ''}${r.resourceRef.name}: ` : '';
  return `[${r.severity}] ${ref}${r.message}${r.field ? ` (${r.field.path})` : ''}`;
}

const REPORT_LINES = 20;

/** stderr lines for results, at most REPORT_LINES of them: the rest are in the ResourceList. */
function report(results: Result[]): string {
  const lines = results.slice(0, REPORT_LINES).map((r) => `${formatResult(r)}\n`);
  if (results.length > REPORT_LINES) lines.push(`… and ${results.length - REPORT_LINES} more\n`);
  return lines.join('');
}

export interface FunctionRun {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * Runs a transform over serialized input. In legacy mode results only reach stderr (kustomize has no
 * results channel); in KRM mode they travel in the ResourceList and kpt prints them. Any error result
 * exits 1 because kpt decides PASS/FAIL by exit code alone.
 */
export function runFunction(transform: KrmTransform, stdin: string, legacyConfig?: string): FunctionRun {
  let input: FunctionInput;
  try {
    input = parseInput(stdin, legacyConfig);
  } catch (err) {
    return { stdout: '', stderr: `${errorText(err)}\n`, exitCode: 1 };
  }
  let output: FunctionOutput;
  try {
    output = transform(input.items, input.functionConfig);
  } catch (err) {
    // A field of an item is read when the transform first asks for it (block-yaml-reader.ts): its YAML error shows then.
    if (!(err instanceof jsyaml.YAMLException)) throw err;
    return { stdout: '', stderr: `stdin is not valid YAML: ${errorText(err).split('\n')[0]}\n`, exitCode: 1 };
  }
  const failed = hasErrors(output.results);
  if (input.mode === 'legacy') {
    const stderr = report(output.results.filter((r) => r.severity !== 'info'));
    if (failed) return { stdout: '', stderr, exitCode: 1 };
    return { stdout: output.items.map((item) => stringify(item)).join('---\n'), stderr, exitCode: 0 };
  }
  // functionConfig goes back out so that the next function in a plain shell pipe gets the same settings.
  const list = {
    apiVersion: 'config.kubernetes.io/v1',
    kind: 'ResourceList',
    items: output.items,
    ...(input.functionConfig !== undefined ? { functionConfig: input.functionConfig } : {}),
    ...(output.results.length ? { results: output.results } : {}),
  };
  return { stdout: stringify(list), stderr: failed ? report(output.results.filter((r) => r.severity === 'error')) : '', exitCode: failed ? 1 : 0 };
}

export function refOf(item: KubeObject): ResourceRef {
  return {
    apiVersion: item.apiVersion,
    kind: item.kind,
    name: item.metadata.name,
    ...(item.metadata.namespace ? { namespace: item.metadata.namespace } : {}),
  };
}
