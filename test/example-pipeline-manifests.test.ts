/**
 * examples/pipeline's manifests are meant for a cluster as much as for `asya dev`: each one is a valid
 * AsyncActor, the KRM functions turn them into workloads and KEDA objects without an error, and the tools
 * only route to actors that exist.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import YAML from 'yaml';
import { expect, test } from 'vitest';
import { handlerLanguage, parseAsyncActor, type AsyncActor } from '../api/index.ts';
import { injectSidecar } from '../krm-functions/inject-sidecar/transform.ts';
import { kedaScaler } from '../krm-functions/keda-scaler/transform.ts';
import type { KubeObject } from '../krm-functions/resource-list.ts';
import { FAN_IN_ACTOR } from '../protocol/fan-in.ts';
import { REPO_ROOT } from './support/runtime-process.ts';

const EXAMPLE = join(REPO_ROOT, 'examples/pipeline');
// Every YAML file in actors/ is an AsyncActor, except the kustomization that lists them for kustomize.
const files = readdirSync(join(EXAMPLE, 'actors')).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort();
const raw = files.map((f) => YAML.parse(readFileSync(join(EXAMPLE, 'actors', f), 'utf8')) as KubeObject);
const actors: AsyncActor[] = raw.map((doc, i) => parseAsyncActor(doc, files[i]));

interface Container {
  name: string;
  command?: string[];
  env?: Array<{ name: string; value?: string }>;
}

test('one valid AsyncActor per file, named after it, with Python and TypeScript handlers', () => {
  expect(actors.map((a) => a.metadata.name)).toEqual(files.map((f) => basename(f, '.yaml')));
  expect(Object.fromEntries(actors.map((a) => [a.metadata.name, handlerLanguage(a)]))).toEqual({
    assess: 'python',
    chunk: 'node',
    clean: 'python',
    judge: 'python',
    publish: 'python',
    refine: 'node',
    score: 'python',
  });
  for (const actor of actors) {
    expect(actor.spec.retry, actor.metadata.name).toBeDefined();
    expect(actor.spec.scaling?.enabled, actor.metadata.name).toBe(true);
    // The drain must be able to finish the longest message.
    expect(actor.spec.timeout!.gracefulShutdown).toBeGreaterThan(actor.spec.timeout!.processing);
  }
});

test('inject-sidecar turns every actor into a Deployment with its runtime and sidecar, without errors', () => {
  const { items, results } = injectSidecar(raw, undefined);
  expect(results.filter((r) => r.severity === 'error')).toEqual([]);
  for (const actor of actors) {
    const deployment = items.find((i) => i.kind === 'Deployment' && i.metadata.name === actor.metadata.name) as
      | { spec: { template: { spec: { containers: Container[] } } } }
      | undefined;
    expect(deployment, actor.metadata.name).toBeDefined();
    const containers = deployment!.spec.template.spec.containers;
    const runtime = containers.find((c) => c.name === 'asya-runtime')!;
    const sidecar = containers.find((c) => c.name === 'asya-sidecar')!;
    expect(runtime.command![0]).toBe(handlerLanguage(actor) === 'node' ? 'node' : 'python3');
    const env = Object.fromEntries((sidecar.env ?? []).map((e) => [e.name, e.value]));
    expect(env.ASYA_RUNTIME_TIMEOUT).toBe(`${actor.spec.timeout!.processing}s`);
    expect(JSON.parse(env.ASYA_RETRY_POLICY!)).toEqual(actor.spec.retry);
  }
});

test('keda-scaler gives every actor a ScaledObject with its replica bounds', () => {
  const { items, results } = kedaScaler(raw, undefined);
  expect(results.filter((r) => r.severity === 'error')).toEqual([]);
  for (const actor of actors) {
    const scaled = items.find((i) => i.kind === 'ScaledObject' && i.metadata.name === actor.metadata.name) as
      | { spec: { minReplicaCount: number; maxReplicaCount: number } }
      | undefined;
    expect(scaled?.spec).toMatchObject({ minReplicaCount: actor.spec.scaling!.minReplicas, maxReplicaCount: actor.spec.scaling!.maxReplicas });
  }
});

test('every route in tools.yaml names only actors that have a manifest, or the crew actor fan-in', () => {
  const tools = YAML.parse(readFileSync(join(EXAMPLE, 'tools.yaml'), 'utf8')) as {
    routes: Record<string, string[]>;
    tools: Array<{ name: string; route: string | string[] }>;
  };
  const names = new Set([...actors.map((a) => a.metadata.name), FAN_IN_ACTOR]);
  for (const tool of tools.tools) {
    const route = typeof tool.route === 'string' ? tools.routes[tool.route]! : tool.route;
    expect(route.filter((a) => !names.has(a)), tool.name).toEqual([]);
  }
});
