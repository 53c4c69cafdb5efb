/**
 * What the cluster should hold for one AsyncActor: the output of the KRM functions (never a second
 * implementation), plus what only a live controller can add: owner references to the actor's uid and a
 * hash of each object, so unchanged objects are not written again.
 */
import { createHash } from 'node:crypto';
import { GENERATED_BY, GENERATED_FROM } from '../krm-functions/actors.ts';
import { renderPipeline } from '../krm-functions/pipeline.ts';
import type { KubeObject, Result } from '../krm-functions/resource-list.ts';

export const DESIRED_HASH = 'asya.sh/desired-hash';
export const FIELD_MANAGER = 'asya-controller';

export interface LiveActor extends KubeObject {
  metadata: KubeObject['metadata'] & { uid?: string; generation?: number; deletionTimestamp?: string; finalizers?: string[]; resourceVersion?: string };
  status?: Record<string, unknown>;
}

export interface DesiredState {
  /** Objects owned by this actor (deleted with it, pruned when no longer desired). */
  owned: KubeObject[];
  /** Objects several actors share (the runtime ConfigMap, a namespace's TriggerAuthentication): never pruned. */
  shared: KubeObject[];
  errors: Result[];
  warnings: Result[];
}

/** JSON with sorted keys: the same object always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function withHash(object: KubeObject): KubeObject {
  const hash = createHash('sha256').update(canonicalJson(object)).digest('hex').slice(0, 16);
  return { ...object, metadata: { ...object.metadata, annotations: { ...object.metadata.annotations, [DESIRED_HASH]: hash } } };
}

/** The actor as the functions expect it: no status, no server-set metadata. */
function asInput(actor: LiveActor): KubeObject {
  const { uid: _u, resourceVersion: _r, generation: _g, creationTimestamp: _c, managedFields: _m, deletionTimestamp: _d, finalizers: _f, ...metadata } = actor.metadata;
  return { apiVersion: actor.apiVersion, kind: actor.kind, metadata, spec: actor.spec };
}

export function desiredState(actor: LiveActor, functionConfig: unknown): DesiredState {
  const { items, results } = renderPipeline([asInput(actor)], functionConfig);
  const generated = items.filter((o) => o.metadata.annotations?.[GENERATED_BY] !== undefined);
  const namespace = actor.metadata.namespace ?? 'default';
  const owner = {
    apiVersion: actor.apiVersion,
    kind: actor.kind,
    name: actor.metadata.name,
    uid: actor.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
  const owned: KubeObject[] = [];
  const shared: KubeObject[] = [];
  for (const object of generated) {
    const placed = { ...object, metadata: { ...object.metadata, namespace } };
    if (object.metadata.annotations?.[GENERATED_FROM] === `AsyncActor/${actor.metadata.name}`) owned.push(withHash({ ...placed, metadata: { ...placed.metadata, ownerReferences: [owner] } }));
    else shared.push(withHash(placed));
  }
  return {
    owned,
    shared,
    errors: results.filter((r) => r.severity === 'error'),
    warnings: results.filter((r) => r.severity === 'warning'),
  };
}
