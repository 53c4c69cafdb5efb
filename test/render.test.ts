/**
 * `asya render` as a user runs it, from a copy of examples/pipeline outside the repository: the folder it
 * writes is what `kubectl kustomize` (and so ArgoCD and Flux) applies, every object is schema-valid, the
 * output equals the kustomize legacy-plugin route's, and a second run changes no byte.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, expect, test } from 'vitest';
import { asya, copyExample } from './support/dev-process.ts';
import { greetProject } from './support/new-project.ts';
import { byId, examplePipelineObjects, idOf, objects, snapshot, validateAll, type RenderedObject } from './support/rendered.ts';
import { requireTools } from './support/tools.ts';
import { buildKrmFunctions } from '../krm-functions/build.ts';

let example: ReturnType<typeof copyExample>;
beforeEach(() => {
  example = copyExample('pipeline');
});
afterEach(() => example.cleanup());

const scratch = mkdtempSync(join(tmpdir(), 'asya-render-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const kustomize = (dir: string, env: Record<string, string> = {}, extra: string[] = []) =>
  spawnSync('kubectl', ['kustomize', ...extra, dir], { encoding: 'utf8', env: { ...process.env, ...env } });

const render = (args: string[], cwd = example.dir) => asya(['render', ...args], {}, cwd);

const PIPELINE_OBJECTS = examplePipelineObjects(join(import.meta.dirname, '..'));

test('render -o writes a folder kubectl kustomize applies as it is: every object, schema-valid, no local-config input; twice gives the same bytes', async (ctx) => {
  requireTools(ctx, ['kubectl']);
  const first = await render(['.', '--platform', 'platform.yaml', '-o', 'rendered']);
  expect(first.status, first.stderr).toBe(0);
  const written = snapshot(join(example.dir, 'rendered'));
  const built = kustomize(join(example.dir, 'rendered'));
  expect(built.status, built.stderr).toBe(0);
  const applied = objects(built.stdout);
  expect(applied.map(idOf).sort()).toEqual(PIPELINE_OBJECTS);
  expect(Object.keys(written).length).toBe(PIPELINE_OBJECTS.length + 1); // one file per object and the kustomization
  expect(JSON.stringify(applied)).not.toContain('local-config');
  expect(JSON.stringify(applied)).not.toContain('config.kubernetes.io/path');
  await validateAll(applied);

  const second = await render(['.', '--platform', 'platform.yaml', '-o', 'rendered']);
  expect(second.status, second.stderr).toBe(0);
  expect(snapshot(join(example.dir, 'rendered'))).toEqual(written);

  const printed = await render(['.', '--platform', 'platform.yaml']);
  expect(printed.status, printed.stderr).toBe(0);
  expect(byId(objects(printed.stdout))).toEqual(byId(applied));
  expect((await render(['.', '--platform', 'platform.yaml'])).stdout).toBe(printed.stdout);
}, 120_000);

test('the objects equal those of the kustomize legacy-plugin route (examples/pipeline/kustomize), namespace aside', async (ctx) => {
  requireTools(ctx, ['kubectl']);
  const fns = join(scratch, 'krm');
  await buildKrmFunctions(fns);
  const legacy = kustomize(join(example.dir, 'kustomize'), { KUSTOMIZE_PLUGIN_HOME: join(fns, 'kustomize-plugins') }, ['--enable-alpha-plugins']);
  expect(legacy.status, legacy.stderr).toBe(0);
  const withoutNamespace = (o: RenderedObject) => {
    const { namespace: _, ...metadata } = o.metadata;
    return { ...o, metadata } as RenderedObject;
  };
  const printed = await render(['.', '--platform', 'platform.yaml']);
  expect(printed.status, printed.stderr).toBe(0);
  expect(byId(objects(printed.stdout))).toEqual(byId(objects(legacy.stdout).map(withoutNamespace)));
}, 120_000);

test('an actor removed from the sources loses its files at the next render; files render did not write are kept', async () => {
  const out = join(example.dir, 'rendered');
  expect((await render(['.', '--platform', 'platform.yaml', '-o', out])).status).toBe(0);
  writeFileSync(join(out, 'README.md'), 'mine\n');
  rmSync(join(example.dir, 'actors/refine.yaml'));
  const again = await render(['.', '--platform', 'platform.yaml', '-o', out]);
  expect(again.status, again.stderr).toBe(0);
  const files = Object.keys(snapshot(out));
  expect(files.filter((f) => f.includes('refine'))).toEqual([]);
  expect(files).toContain('README.md');
  expect(readFileSync(join(out, 'kustomization.yaml'), 'utf8')).not.toContain('refine');
});

test('a project without a .krmignore: tools.yaml and handler files are passed over, the actor is rendered', async () => {
  const project = greetProject();
  try {
    const run = await render([project.dir], project.dir);
    expect(run.status, run.stderr).toBe(0);
    expect(objects(run.stdout).map(idOf)).toEqual(['ConfigMap/asya-runtime', 'Deployment/greet']);
  } finally {
    project.cleanup();
  }
});

test('an invalid actor: exit 1, the functions\' message after the file name, and the previous output is left as it was', async () => {
  const out = join(example.dir, 'rendered');
  expect((await render(['.', '--platform', 'platform.yaml', '-o', out])).status).toBe(0);
  const before = snapshot(out);
  const file = join(example.dir, 'actors/chunk.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace('maxReplicas: 5', 'maxReplica: 5'));
  const run = await render(['.', '--platform', 'platform.yaml', '-o', out]);
  expect(run.status).toBe(1);
  expect(run.stderr).toContain('asya render: actors/chunk.yaml: [error] AsyncActor/chunk: unknown field "maxReplica" (did you mean maxReplicas?) (spec.scaling)');
  expect(snapshot(out)).toEqual(before);
});

// Eight asya processes in a row: a failure bound for a loaded 2-core machine (60 s was reached at load 20), not a timing.
test('bad settings, bad YAML, a wrong directory, no actors, a foreign output folder: exit 1 with the file named', async () => {
  writeFileSync(join(example.dir, 'bad-platform.yaml'), 'apiVersion: fn.asya.sh/v1alpha1\nkind: AsyaPlatform\nmetadata: {name: p}\nspec: {queuePrefx: a-}\n');
  const settings = await render(['actors', '--platform', 'bad-platform.yaml']);
  expect(settings.status).toBe(1);
  expect(settings.stderr).toContain('asya render: bad-platform.yaml: [error] functionConfig spec.queuePrefx: unknown setting "queuePrefx"');

  writeFileSync(join(example.dir, 'actors/broken.yaml'), 'kind: AsyncActor\nmetadata: [oops\n');
  const yaml = await render(['.', '--platform', 'platform.yaml']);
  expect(yaml.status).toBe(1);
  expect(yaml.stderr).toMatch(/asya render: actors\/broken\.yaml: not valid YAML: /);
  rmSync(join(example.dir, 'actors/broken.yaml'));

  writeFileSync(join(example.dir, 'actors/half.yaml'), 'kind: Deployment\nmetadata: {name: x}\n');
  const half = await render(['actors']);
  expect(half.status).toBe(1);
  expect(half.stderr).toContain('asya render: half.yaml: document 1 is not a Kubernetes object (apiVersion, kind and metadata.name are required)');
  rmSync(join(example.dir, 'actors/half.yaml'));

  writeFileSync(join(example.dir, 'actors/extra.yaml'), 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: chunk}\nspec: {}\n');
  const twice = await render(['actors']);
  expect(twice.status).toBe(1);
  expect(twice.stderr).toContain('asya render: Deployment/chunk is declared twice: extra.yaml, and generated from AsyncActor/chunk');
  rmSync(join(example.dir, 'actors/extra.yaml'));

  expect((await render(['missing'])).stderr).toContain('asya render: missing: not a directory');
  const empty = await render(['handlers']);
  expect(empty.status).toBe(1);
  expect(empty.stderr).toContain('asya render: handlers: no AsyncActor found');

  writeFileSync(join(example.dir, 'kustomize/extra.yaml'), 'x: 1\n');
  const foreign = await render(['actors', '-o', 'kustomize']);
  expect(foreign.status).toBe(1);
  expect(foreign.stderr).toContain('kustomize/kustomization.yaml was not written by asya render');
  expect(existsSync(join(example.dir, 'kustomize/configmap_asya-runtime.yaml'))).toBe(false);

  const help = await render(['--help']);
  expect(help.status).toBe(0);
  expect(help.stdout).toMatch(/^Usage: asya render <dir>/);
  const usage = await render([]);
  expect(usage.status).toBe(2);
  expect(usage.stderr).toContain('Usage: asya render <dir>');
}, 180_000);
