/**
 * `asya render <dir> [--platform <file>] [-o <dir>]`: AsyncActor manifests in, apply-ready YAML out, through
 * the same function pipeline as kpt, kustomize, the controller and cdk8s (krm-functions/pipeline.ts). With
 * `-o` it writes a folder that kustomize, ArgoCD and Flux apply as it is: one file per object and a
 * kustomization.yaml listing exactly those files.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseOptions } from './client/parse-options.ts';
import { readPlatformDocument } from './platform-file.ts';
import { PATH_ANNOTATION, readObjects } from './render-sources.ts';
import { renderPipeline } from '../krm-functions/pipeline.ts';
import { GENERATED_BY, GENERATED_FROM, LOCAL_CONFIG, stripToolAnnotations } from '../krm-functions/actors.ts';
import { FN_API_VERSION } from '../krm-functions/platform-config.ts';
import { formatResult, stringify, type KubeObject, type Result } from '../krm-functions/resource-list.ts';
import { isAsyncActorResource } from '../api/index.ts';
import { errorText } from '../protocol/errors.ts';

const USAGE = `Usage: asya render <dir> [--platform <file>] [-o <dir>]

Reads every AsyncActor (and any other object) in the YAML files under <dir>, as kpt fn source does
(.krmignore honoured; kustomization files and YAML that is not a Kubernetes object are passed over), runs
inject-sidecar and keda-scaler, and prints the objects to apply. Local-config objects (the AsyncActors
unless keepAsyncActors, the Kptfile, the platform file) and function configs (${FN_API_VERSION}) are left out.

Options:
  -p, --platform <file>   platform settings: an AsyaPlatform or ConfigMap, as for the KRM functions
  -o, --out <dir>         write one file per object and a kustomization.yaml listing them, instead of
                          printing; files a previous render listed there are replaced
  -h, --help              show this help
Exits 1 on any error, naming the file.`;

/** The first line of the kustomization.yaml render writes: marks the folder as render's to replace. */
const OWNED_MARK = '# Written by `asya render`: render again instead of editing.';

/** Apply order for the kinds the functions emit (the rest follow alphabetically): what others refer to first. */
const KIND_ORDER = ['Namespace', 'ServiceAccount', 'Secret', 'ConfigMap', 'Service', 'Deployment', 'StatefulSet', 'Job', 'TriggerAuthentication', 'ScaledObject', 'ScaledJob'];

class RenderUsageError extends Error {}

const isApplied = (o: KubeObject) =>
  o.metadata.annotations?.[LOCAL_CONFIG] !== 'true' && !o.apiVersion.startsWith(`${FN_API_VERSION.split('/')[0]}/`) && o.kind !== 'Kptfile';

function rank(o: KubeObject): string {
  const known = KIND_ORDER.indexOf(o.kind);
  return `${String(known < 0 ? KIND_ORDER.length : known).padStart(2, '0')}|${o.kind}|${o.metadata.namespace ?? ''}|${o.metadata.name}`;
}

/** What is applied: no tool annotations (an emptied annotations map goes too), in a stable order. */
function applied(items: KubeObject[]): KubeObject[] {
  return items
    .filter(isApplied)
    .map((item) => {
      const clean = stripToolAnnotations(item);
      if (Object.keys(clean.metadata.annotations ?? {}).length > 0) return clean;
      const { annotations: _, ...metadata } = clean.metadata;
      return { ...clean, metadata };
    })
    .sort((a, b) => (rank(a) < rank(b) ? -1 : rank(a) > rank(b) ? 1 : 0));
}

/** A result as the functions print it, after the file it is about (the platform file for settings errors). */
function describe(result: Result, platform: string | undefined): string {
  const file = result.file?.path ?? (!result.resourceRef && platform ? platform : undefined);
  return `${file ? `${file}: ` : ''}${formatResult(result)}`;
}

function duplicates(items: KubeObject[]): string[] {
  const seen = new Map<string, string>();
  const problems: string[] = [];
  for (const item of items) {
    const key = `${item.kind}/${item.metadata.namespace ? `${item.metadata.namespace}/` : ''}${item.metadata.name}`;
    const annotations = item.metadata.annotations ?? {};
    // A generated object carries the path where kpt would write it, not a file of the input.
    const origin = annotations[GENERATED_BY] ? `generated from ${annotations[GENERATED_FROM] ?? 'the platform settings'}` : annotations[PATH_ANNOTATION] ?? 'the input';
    const first = seen.get(key);
    if (first !== undefined) problems.push(`${key} is declared twice: ${first}, and ${origin}`);
    else seen.set(key, origin);
  }
  return problems;
}

export const fileNameOf = (o: KubeObject) => `${o.kind.toLowerCase()}_${o.metadata.namespace ? `${o.metadata.namespace}_` : ''}${o.metadata.name}.yaml`;

/** Replaces what a previous render wrote in `out` (the files its kustomization.yaml lists), never anything else. */
function writeFolder(out: string, objects: KubeObject[]): void {
  const kustomization = join(out, 'kustomization.yaml');
  if (existsSync(kustomization)) {
    const previous = readFileSync(kustomization, 'utf8');
    if (!previous.startsWith(OWNED_MARK)) throw new Error(`${kustomization} was not written by asya render; choose an empty or earlier -o folder`);
    for (const line of previous.split('\n')) {
      const listed = /^- ([^/\s]+\.yaml)$/.exec(line)?.[1];
      if (listed) rmSync(join(out, listed), { force: true });
    }
  }
  mkdirSync(out, { recursive: true });
  const files = objects.map((o) => {
    writeFileSync(join(out, fileNameOf(o)), stringify(o));
    return fileNameOf(o);
  });
  writeFileSync(kustomization, `${OWNED_MARK}\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n${files.map((f) => `- ${f}\n`).join('')}`);
}

/** Runs `asya render`; answers the exit code (0 rendered, 1 an error in the input, 2 usage). */
export async function runRender(args: string[]): Promise<number> {
  let values: { platform?: string; out?: string; help?: boolean };
  let dir: string;
  try {
    const parsed = parseOptions({
      args,
      allowPositionals: true,
      options: { platform: { type: 'string', short: 'p' }, out: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h' } },
    });
    values = parsed.values;
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (parsed.positionals.length !== 1) throw new RenderUsageError(`expected one directory, got ${parsed.positionals.length}`);
    dir = parsed.positionals[0]!;
  } catch (err) {
    process.stderr.write(`asya render: ${errorText(err)}\n\n${USAGE}\n`);
    return 2;
  }
  try {
    const functionConfig = values.platform === undefined ? undefined : readPlatformDocument(values.platform);
    const items = readObjects(dir, values.out);
    if (!items.some(isAsyncActorResource)) throw new Error(`${dir}: no AsyncActor found (an empty render would delete everything a GitOps tool applied before)`);
    const output = renderPipeline(items, functionConfig);
    const reported = output.results.filter((r) => r.severity !== 'info');
    for (const result of reported) process.stderr.write(`asya render: ${describe(result, values.platform)}\n`);
    const problems = duplicates(output.items.filter(isApplied));
    for (const problem of problems) process.stderr.write(`asya render: ${problem}\n`);
    if (reported.some((r) => r.severity === 'error') || problems.length) return 1;
    const objects = applied(output.items);
    if (values.out === undefined) await new Promise<void>((done) => process.stdout.write(objects.map((o) => stringify(o)).join('---\n'), () => done()));
    else writeFolder(values.out, objects);
    return 0;
  } catch (err) {
    process.stderr.write(`asya render: ${errorText(err)}\n`);
    return 1;
  }
}
