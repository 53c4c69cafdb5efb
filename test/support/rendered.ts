/** Reading what a rendering route wrote: files on disk, YAML streams of objects, schema checks. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import YAML from 'yaml';
import { validateKubeObject } from './kube-schemas.ts';

export interface RenderedObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

/** Every file under dir with its content, for before/after comparisons. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const entry of readdirSync(d)) {
      const path = join(d, entry);
      if (statSync(path).isDirectory()) walk(path);
      else out[relative(dir, path)] = readFileSync(path, 'utf8');
    }
  };
  walk(dir);
  return out;
}

export const objects = (text: string): RenderedObject[] =>
  YAML.parseAllDocuments(text)
    .map((d) => d.toJS() as RenderedObject | null)
    .filter((o) => o !== null);

export const idOf = (o: RenderedObject) => `${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;

/** The objects sorted by kind and name, so two routes that order them differently compare equal. */
export const byId = (list: RenderedObject[]) => [...list].sort((a, b) => idOf(a).localeCompare(idOf(b)));

/** Rejects with every object that the Kubernetes or KEDA schema refuses. */
export async function validateAll(list: RenderedObject[]): Promise<void> {
  const failures: string[] = [];
  for (const object of list) await validateKubeObject(object).catch((err: Error) => failures.push(err.message));
  if (failures.length) throw new Error(failures.join('\n'));
}

/**
 * What examples/pipeline renders to on RabbitMQ: per actor its Deployment and ScaledObject, plus the runtime
 * script's ConfigMap and KEDA's trigger authentication. The actors come from the example's own kustomization,
 * so a new example actor changes this list without a test edit.
 */
export function examplePipelineObjects(repoRoot: string): string[] {
  const actorsDir = join(repoRoot, 'examples', 'pipeline', 'actors');
  const kustomization = YAML.parse(readFileSync(join(actorsDir, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
  const actors = kustomization.resources.map((file) => (YAML.parse(readFileSync(join(actorsDir, file), 'utf8')) as RenderedObject).metadata.name);
  return [
    'ConfigMap/asya-runtime',
    ...actors.flatMap((a) => [`Deployment/${a}`, `ScaledObject/${a}`]),
    'TriggerAuthentication/asya-rabbitmq-trigger-auth',
  ].sort();
}
