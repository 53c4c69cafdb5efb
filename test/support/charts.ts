/** Helpers the chart tests share: synthesize a pattern to plain objects and walk their pod specs. */
import type { KubeObject } from '../../krm-functions/resource-list.ts';
import { renderAsyncActor } from '../../charts-ts/async-actor.ts';
import YAML from 'yaml';
import type { PlatformOptions, PlatformSettings } from '../../charts-ts/options.ts';
import { appObjects, platformApps } from '../../charts-ts/platform.ts';

export type Container = Record<string, unknown> & { name: string };
export type PodSpec = Record<string, unknown> & { containers: Container[]; initContainers?: Container[] };

/** A claim for the crew's results, so tests about other things need not choose where the crew stores. */
export const TEST_RESULTS_CLAIM = 'asya-crew-results';

/** `options` with the crew on TEST_RESULTS_CLAIM unless they choose its storage (or run a trial). */
export function withCrewStorage(options: PlatformOptions = {}): PlatformOptions {
  const crew = options.crew ?? {};
  if (options.trial || crew.s3 || crew.resultsClaim || crew.ephemeralResults) return options;
  return { ...options, crew: { ...crew, resultsClaim: TEST_RESULTS_CLAIM } };
}

/** The objects of every chart, for a single-cluster pattern (crew storage: withCrewStorage). */
export function synthObjects(options: PlatformOptions = {}): KubeObject[] {
  const apps = platformApps(withCrewStorage(options));
  if (apps.length !== 1) throw new Error(`expected one cluster, got ${apps.length}`);
  return appObjects(apps[0]!.app);
}

/**
 * What runs in the cluster: AsyncActors become what the controller applies for them (the KRM functions'
 * output with the settings in the controller's asya-platform ConfigMap), so injected sidecars are checked too.
 */
export function clusterObjects(objects: KubeObject[]): KubeObject[] {
  const configMap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'asya-platform');
  const file = at(configMap, 'data', 'platform.yaml');
  const platform = typeof file === 'string' ? ((YAML.parse(file) as { spec: PlatformSettings }).spec) : {};
  return objects.flatMap((o) => (o.kind === 'AsyncActor' ? renderAsyncActor(o, platform).objects : [o]));
}

/** The value at a path of keys in a manifest, or undefined where the path ends early. */
export function at(value: unknown, ...keys: string[]): unknown {
  let node = value;
  for (const key of keys) node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined;
  return node;
}

export function podSpecOf(object: KubeObject): PodSpec | undefined {
  switch (object.kind) {
    case 'Deployment':
    case 'StatefulSet':
    case 'Job':
      return at(object, 'spec', 'template', 'spec') as PodSpec;
    case 'ScaledJob':
      return at(object, 'spec', 'jobTargetRef', 'template', 'spec') as PodSpec;
    default:
      return undefined;
  }
}

export function containersOf(object: KubeObject): Container[] {
  const pod = podSpecOf(object);
  return pod ? [...(pod.initContainers ?? []), ...pod.containers] : [];
}

export const kindsAndNames = (objects: KubeObject[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();

export const byKind = (objects: KubeObject[], kind: string) => objects.filter((o) => o.kind === kind);

export function only(objects: KubeObject[], kind: string, name: string): KubeObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind}/${name}, found ${found.length}`);
  return found[0]!;
}
