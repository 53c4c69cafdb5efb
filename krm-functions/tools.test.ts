/**
 * The bundled functions under the real tools: `kpt fn eval --exec`, `kpt fn render --allow-exec` on the
 * Kptfile pipeline in examples/hello, and `kubectl kustomize --enable-alpha-plugins` through the legacy
 * exec-plugin layout. Every run happens twice to show the output on disk does not change.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import YAML from 'yaml';
import { validateKubeObject } from '../test/support/kube-schemas.ts';
import { objects, snapshot } from '../test/support/rendered.ts';
import { requireTools } from '../test/support/tools.ts';
import { buildKrmFunctions } from './build.ts';

const REPO = join(import.meta.dirname, '..');
let work: string;
let fns: Awaited<ReturnType<typeof buildKrmFunctions>>;

function run(command: string, args: string[], options: { cwd?: string; env?: Record<string, string>; input?: string } = {}) {
  const result = spawnSync(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, input: options.input, encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'asya-krm-tools-'));
  // The same layout as the repository, so the Kptfile's relative exec paths resolve as they do for users.
  fns = await buildKrmFunctions(join(work, 'dist/krm'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function copyHello(): string {
  const dir = join(work, `examples-${Math.random().toString(36).slice(2)}`, 'hello');
  cpSync(join(REPO, 'examples/hello'), dir, { recursive: true });
  // Kptfile exec paths are relative to the package: ../../dist/krm from <work>/examples-x/hello.
  return dir;
}

/** The packages whose code is in a bundle, from the `// node_modules/<package>/...` path comments esbuild writes. */
function bundledPackages(file: string): Set<string> {
  return new Set([...readFileSync(file, 'utf8').matchAll(/^\/\/ node_modules\/((?:@[^/]+\/)?[^/]+)\//gm)].map((m) => m[1]!));
}

test('the bundles carry no broker client and only English zod messages: nothing a function never runs', () => {
  for (const file of Object.values(fns)) {
    const packages = bundledPackages(file);
    expect(packages).toContain('js-yaml'); // a guard: the path comments this test reads are there
    expect([...packages].filter((p) => /^(amqplib|@aws-sdk\/|@smithy\/|@nats-io\/)/.test(p))).toEqual([]);
    const locales = [...readFileSync(file, 'utf8').matchAll(/^\/\/ node_modules\/zod\/v4\/locales\/([^/\n]+)$/gm)].map((m) => m[1]);
    expect(locales).toEqual(['en.js']);
  }
});

describe('kpt', () => {
  beforeEach((ctx) => requireTools(ctx, ['kpt']));

  test('kpt fn eval --exec with key=value config injects sidecars, and a second run changes nothing', () => {
    const pkg = join(copyHello(), 'actors');
    const args = ['fn', 'eval', pkg, '--exec', fns['inject-sidecar'], '--', 'gatewayUrl=http://gw:8080', 'transports.rabbitmq.host=mq'];
    const first = run('kpt', args);
    expect(first.code, first.stderr).toBe(0);
    const after = snapshot(pkg);
    expect(Object.keys(after).sort()).toEqual(
      ['generated/configmap_asya-runtime.yaml', 'generated/deployment_normalize.yaml', 'generated/deployment_report.yaml', 'generated/deployment_sentiment.yaml', 'kustomization.yaml', 'normalize.yaml', 'report.yaml', 'sentiment.yaml'],
    );
    const deployment = objects(after['generated/deployment_normalize.yaml']!)[0] as unknown as { spec: { template: { spec: { containers: { name: string; env?: { name: string; value?: string }[] }[] } } } };
    const sidecar = deployment.spec.template.spec.containers.find((c) => c.name === 'asya-sidecar')!;
    expect(sidecar.env).toEqual(expect.arrayContaining([{ name: 'ASYA_GATEWAY_URL', value: 'http://gw:8080' }, { name: 'ASYA_RABBITMQ_HOST', value: 'mq' }]));
    expect(objects(after['normalize.yaml']!)[0]!.metadata.annotations).toEqual({ 'config.kubernetes.io/local-config': 'true' });

    const second = run('kpt', args);
    expect(second.code, second.stderr).toBe(0);
    expect(snapshot(pkg)).toEqual(after);
  });

  test('kpt fn render --allow-exec runs the Kptfile pipeline; rendering again changes nothing', async () => {
    const pkg = copyHello();
    const first = run('kpt', ['fn', 'render', '.', '--allow-exec'], { cwd: pkg });
    expect(first.code, first.stderr).toBe(0);
    const after = snapshot(pkg);
    const generated = Object.keys(after).filter((f) => f.startsWith('actors/generated/')).sort();
    expect(generated).toEqual([
      'actors/generated/configmap_asya-runtime.yaml',
      'actors/generated/deployment_normalize.yaml',
      'actors/generated/deployment_report.yaml',
      'actors/generated/deployment_sentiment.yaml',
      'actors/generated/scaledobject_normalize.yaml',
      'actors/generated/scaledobject_report.yaml',
      'actors/generated/scaledobject_sentiment.yaml',
      'actors/generated/triggerauthentication_asya-rabbitmq-trigger-auth.yaml',
    ]);
    for (const file of generated) for (const object of objects(after[file]!)) await validateKubeObject(object);
    const second = run('kpt', ['fn', 'render', '.', '--allow-exec'], { cwd: pkg });
    expect(second.code, second.stderr).toBe(0);
    expect(snapshot(pkg)).toEqual(after);
  });

  test('an invalid AsyncActor fails the pipeline with the field path, and the package is left as it was', () => {
    const pkg = copyHello();
    const file = join(pkg, 'actors/normalize.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('name: asya-runtime', 'name: asya-sidecar'));
    const before = snapshot(pkg);
    const result = run('kpt', ['fn', 'render', '.', '--allow-exec'], { cwd: pkg });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('container name "asya-sidecar" is reserved');
    expect(result.stderr).toContain('spec.workload.template.spec.containers[0].name');
    expect(snapshot(pkg)).toEqual(before);
  });

  test('kpt fn source --fn-config | inject-sidecar | keda-scaler: a plain pipe, the settings reach both functions, every generated object schema-valid', async () => {
    const config = join(work, 'prefix-config.yaml');
    writeFileSync(config, 'apiVersion: fn.asya.sh/v1alpha1\nkind: AsyaPlatform\nmetadata: {name: p}\nspec: {queuePrefix: team-a-}\n');
    const source = run('kpt', ['fn', 'source', join(REPO, 'examples/hello/actors'), '--fn-config', config]);
    expect(source.code, source.stderr).toBe(0);
    const injected = run(fns['inject-sidecar'], [], { input: source.stdout });
    expect(injected.code, injected.stderr).toBe(0);
    const out = run(fns['keda-scaler'], [], { input: injected.stdout });
    expect(out.code, out.stderr).toBe(0);
    const list = YAML.parse(out.stdout) as { kind: string; items: { kind: string; spec: Record<string, unknown> }[]; results: { severity: string; message: string }[] };
    expect(list.kind).toBe('ResourceList');
    const scaled = list.items.filter((i) => i.kind === 'ScaledObject');
    expect(scaled.map((o) => (o.spec.triggers as { metadata: { queueName: string } }[])[0]!.metadata.queueName).sort()).toEqual(['team-a-asya-normalize', 'team-a-asya-report', 'team-a-asya-sentiment']);
    expect(JSON.stringify(list.items.filter((i) => i.kind === 'Deployment'))).toContain('"name":"ASYA_QUEUE_PREFIX","value":"team-a-"');
    expect(list.results).toEqual([expect.objectContaining({ severity: 'warning', message: expect.stringContaining('managementUrl') })]);
    // kpt fn source also passes the folder's kustomization.yaml along: kustomize's, not an object to apply.
    const generated = list.items.filter((i) => i.kind !== 'AsyncActor' && i.kind !== 'Kustomization') as unknown as Parameters<typeof validateKubeObject>[0][];
    expect(generated.length).toBeGreaterThan(0);
    for (const item of generated) await validateKubeObject(item);
  });
});

describe('asya krm and asya crd', () => {
  test('kpt runs `asya krm keda-scaler` as an exec function (the CLI speaks the same protocol as the bundles)', (ctx) => {
    requireTools(ctx, ['kpt']);
    const pkg = join(copyHello(), 'actors');
    const result = run('kpt', ['fn', 'eval', pkg, '--exec', `${process.execPath} ${join(REPO, 'bin/asya.js')} krm keda-scaler`]);
    expect(result.code, result.stderr).toBe(0);
    expect(readdirSync(join(pkg, 'generated')).sort()).toEqual(['scaledobject_normalize.yaml', 'scaledobject_report.yaml', 'scaledobject_sentiment.yaml']);
  });

  test('asya crd prints the committed CRD', () => {
    const result = run(process.execPath, [join(REPO, 'bin/asya.js'), 'crd']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(readFileSync(join(REPO, 'api/crd/asyncactors.asya.sh.yaml'), 'utf8'));
  });
});

describe('kubectl kustomize (legacy exec plugins)', () => {
  beforeEach((ctx) => requireTools(ctx, ['kubectl']));
  const kustomize = (dir: string) =>
    run('kubectl', ['kustomize', '--enable-alpha-plugins', dir], { env: { KUSTOMIZE_PLUGIN_HOME: join(work, 'dist/krm/kustomize-plugins') } });

  test('the example overlay renders workloads and KEDA objects, drops the AsyncActors, and keeps the namespace', async () => {
    const result = kustomize(join(copyHello(), 'kustomize'));
    expect(result.code, result.stderr).toBe(0);
    const out = objects(result.stdout);
    expect(out.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ConfigMap/asya-runtime',
      'Deployment/normalize',
      'Deployment/report',
      'Deployment/sentiment',
      'ScaledObject/normalize',
      'ScaledObject/report',
      'ScaledObject/sentiment',
      'TriggerAuthentication/asya-rabbitmq-trigger-auth',
    ]);
    for (const object of out) {
      expect((object.metadata as { namespace?: string }).namespace).toBe('hello');
      await validateKubeObject(object);
    }
    expect(kustomize(join(copyHello(), 'kustomize')).stdout).toBe(result.stdout);
  });

  test('an invalid actor makes kubectl kustomize fail with the message', () => {
    const dir = copyHello();
    const file = join(dir, 'actors/report.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('transport: rabbitmq', 'transport: kafka'));
    const result = kustomize(join(dir, 'kustomize'));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('unknown transport "kafka"');
  });
});
