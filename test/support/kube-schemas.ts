/**
 * Validates objects against the published OpenAPI schemas of Kubernetes (kubernetes-models) and KEDA
 * (@kubernetes-models/keda), the way an API server with those CRDs would check their shape.
 */
import { errorText } from '../../protocol/errors.ts';
interface Model {
  validate(): void;
}
type ModelClass = new (data: unknown) => Model;

function modulePath(apiVersion: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (group === 'keda.sh') return `@kubernetes-models/keda/keda.sh/${version}`;
  return group ? `kubernetes-models/${group}/${version}` : `kubernetes-models/${version}`;
}

/** Resolves with no value when the object is valid; rejects naming the object and the schema errors. */
export async function validateKubeObject(object: { apiVersion: string; kind: string; metadata?: { name?: string; [key: string]: unknown }; [key: string]: unknown }): Promise<void> {
  let Model: ModelClass | undefined;
  try {
    Model = ((await import(modulePath(object.apiVersion))) as Record<string, ModelClass>)[object.kind];
  } catch {
    Model = undefined;
  }
  if (!Model) throw new Error(`no schema known for ${object.apiVersion} ${object.kind}`);
  try {
    new Model(object).validate();
  } catch (err) {
    throw new Error(`${object.kind}/${object.metadata?.name}: ${errorText(err)}`);
  }
}
