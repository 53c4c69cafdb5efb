/**
 * `AsyncActor`: an actor in a user's own cdk8s app. It runs the KRM functions (inject-sidecar, then
 * keda-scaler) on one AsyncActor and adds what they emit as ApiObjects, so a cdk8s app gets exactly the
 * objects kpt, kustomize and the controller would produce, without a controller in the cluster.
 *
 *   new AsyncActor(chart, 'summarize', { metadata: { name: 'summarize' }, spec: {...}, platform: {...} });
 */
import { ApiObject, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import type { z } from 'zod';
import { API_GROUP, API_VERSION, asyncActorSpecSchema, KIND } from '../api/index.ts';
import { renderPipeline } from '../krm-functions/pipeline.ts';
import type { KubeObject, Result } from '../krm-functions/resource-list.ts';
import { asFunctionConfig, type PlatformSettings } from './options.ts';

/** The spec as a user writes it: defaults may be left out. */
export type AsyncActorSpecInput = z.input<typeof asyncActorSpecSchema>;

export interface AsyncActorProps {
  readonly metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  readonly spec: AsyncActorSpecInput;
  /** Platform settings, as in the KRM functionConfig (`keepAsyncActors: true` also emits the AsyncActor). @default {} */
  readonly platform?: PlatformSettings;
}

export class AsyncActorSynthError extends Error {
  override readonly name = 'AsyncActorSynthError';
}

const LOCAL_CONFIG = 'config.kubernetes.io/local-config';
const keyOf = (o: KubeObject) => `${o.apiVersion}|${o.kind}|${o.metadata.namespace ?? ''}|${o.metadata.name}`;

/** The AsyncActor resource the functions take as input. */
export function asyncActorResource(props: AsyncActorProps): KubeObject {
  return { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: KIND, metadata: { ...props.metadata }, spec: structuredClone(props.spec) };
}

/**
 * Both functions in the order every pipeline runs them. Errors (an invalid spec, a bad setting) become one
 * thrown error listing every message with its field; warnings are returned.
 */
export function renderAsyncActor(actor: KubeObject, platform: PlatformSettings = {}): { objects: KubeObject[]; results: Result[] } {
  const { items, results } = renderPipeline([actor], asFunctionConfig(platform));
  const errors = results.filter((r) => r.severity === 'error');
  if (errors.length > 0) {
    const lines = errors.map((r) => `${r.field ? `${r.field.path}: ` : ''}${r.message}`);
    throw new AsyncActorSynthError(`AsyncActor ${actor.metadata.name}: ${lines.join('; ')}`);
  }
  // The functions keep the AsyncActor in their output, marked local-config unless keepAsyncActors is set.
  const objects = items.filter((o) => o.metadata.annotations?.[LOCAL_CONFIG] !== 'true');
  return { objects, results };
}

/** Objects several actors of one namespace share (asya-runtime ConfigMap, TriggerAuthentication), per chart. */
const sharedByChart = new WeakMap<Chart, Map<string, string>>();

export class AsyncActor extends Construct {
  /** What this actor added to the chart, in the functions' order. */
  readonly objects: readonly KubeObject[];
  /** The functions' warnings and notes (errors were thrown). */
  readonly results: readonly Result[];

  constructor(scope: Construct, id: string, props: AsyncActorProps) {
    super(scope, id);
    const { objects, results } = renderAsyncActor(asyncActorResource(props), props.platform);
    const chart = Chart.of(this);
    const shared = sharedByChart.get(chart) ?? new Map<string, string>();
    sharedByChart.set(chart, shared);
    const added: KubeObject[] = [];
    for (const object of objects) {
      const key = keyOf(object);
      const body = JSON.stringify(object);
      const earlier = shared.get(key);
      if (earlier === body) continue; // a second actor in the namespace needs the same shared object: emit it once
      if (earlier !== undefined) throw new AsyncActorSynthError(`AsyncActor ${props.metadata.name}: ${object.kind} ${object.metadata.name} is also emitted, differently, by another actor in this chart (different platform settings in one namespace?)`);
      shared.set(key, body);
      new ApiObject(this, `${object.kind}-${object.metadata.name}`, object);
      added.push(object);
    }
    this.objects = added;
    this.results = results;
  }
}
