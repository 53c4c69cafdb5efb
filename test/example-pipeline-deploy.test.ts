/**
 * examples/pipeline's manifests serve every deployment route: the kpt package (Kptfile pipeline), the
 * kustomize overlay (legacy exec plugins) and the cdk8s app (AsyncActor construct). All three produce the
 * same objects, and every object is valid for Kubernetes and KEDA.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import YAML from 'yaml';
import { buildKrmFunctions } from '../krm-functions/build.ts';
import { validateKubeObject } from './support/kube-schemas.ts';
import { requireTools } from './support/tools.ts';

const REPO = join(import.meta.dirname, '..');
type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; annotations?: Record<string, string> }; [k: string]: unknown };
let work: string;

function run(command: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  const r = spawnSync(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, encoding: 'utf8', timeout: 120_000, maxBuffer: 1 << 26 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const parse = (text: string) => YAML.parseAllDocuments(text).map((d) => d.toJS() as Obj | null).filter((o): o is Obj => o !== null);

/** The objects to apply, without the tools' own bookkeeping annotations, keyed and sorted for comparison. */
function applied(objects: Obj[], namespace: string): Obj[] {
  return objects
    .filter((o) => o.metadata.annotations?.['config.kubernetes.io/local-config'] !== 'true')
    .map((o) => {
      const annotations = Object.fromEntries(Object.entries(o.metadata.annotations ?? {}).filter(([k]) => !/config\.kubernetes\.io|config\.k8s\.io/.test(k)));
      return { ...o, metadata: { ...o.metadata, namespace, annotations } };
    })
    .sort((a, b) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`));
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'asya-pipeline-deploy-'));
  await buildKrmFunctions(join(work, 'dist/krm'));
  cpSync(join(REPO, 'examples/pipeline'), join(work, 'examples/pipeline'), { recursive: true });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** What the cdk8s app renders (no outside tool needed): the objects the kustomize and kpt routes must match. */
let fromCdk8s: Obj[] | undefined;
function cdk8sObjects(): Obj[] {
  if (fromCdk8s) return fromCdk8s;
  const out = join(work, 'cdk8s');
  const r = run(process.execPath, ['--import', 'tsx', join(REPO, 'examples/pipeline/cdk8s.ts'), out], { cwd: REPO });
  expect(r.code, r.stderr).toBe(0);
  const file = readdirSync(out).find((f) => f.endsWith('.k8s.yaml'))!;
  fromCdk8s = applied(parse(readFileSync(join(out, file), 'utf8')), 'documents');
  return fromCdk8s;
}

describe('examples/pipeline as deployment manifests', () => {
  test('the cdk8s app (AsyncActor construct) renders seven workloads with sidecars and their KEDA objects, all schema-valid', async () => {
    const objects = cdk8sObjects();
    const kinds = objects.map((o) => o.kind);
    expect(kinds.filter((k) => k === 'Deployment')).toHaveLength(7);
    expect(kinds.filter((k) => k === 'ScaledObject')).toHaveLength(7);
    expect(kinds).not.toContain('AsyncActor');
    for (const o of objects) await validateKubeObject(o);
  });

  test('kubectl kustomize (legacy exec plugins) gives the same objects', (ctx) => {
    requireTools(ctx, ['kubectl']);
    const r = run('kubectl', ['kustomize', '--enable-alpha-plugins', join(work, 'examples/pipeline/kustomize')], {
      env: { KUSTOMIZE_PLUGIN_HOME: join(work, 'dist/krm/kustomize-plugins') },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(applied(parse(r.stdout), 'documents')).toEqual(cdk8sObjects());
  });

  test('kpt fn render of the package gives the same objects', (ctx) => {
    requireTools(ctx, ['kpt']);
    const pkg = join(work, 'examples/pipeline');
    const r = run('kpt', ['fn', 'render', '.', '--allow-exec', '-o', 'unwrap'], { cwd: pkg });
    expect(r.code, r.stderr).toBe(0);
    expect(applied(parse(r.stdout), 'documents')).toEqual(cdk8sObjects());
  });
});
