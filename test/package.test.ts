/**
 * The package as users get it: `npm pack` (whose prepack builds dist/krm, dist/lib and dist/pglite), installed into a project
 * in a temporary directory outside the repository, with nothing of the checkout on the module path.
 * - the bins `asya-inject-sidecar` and `asya-keda-scaler` on every golden case: stdout byte for byte what the
 *   in-process function writes, and the golden items;
 * - the library entry points `asya/cdk8s`, `asya/krm` and `asya/pause`: their exported names, pinned here so the public
 *   surface changes only on purpose;
 * - a user's own cdk8s app (TypeScript, type-checked strictly against the shipped .d.ts, run by `cdk8s synth`
 *   from cdk8s-cli as installed from the npm registry) gives the objects the bins' pipe and `asya render` give,
 *   each schema-valid.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import YAML from 'yaml';
import { FUNCTIONS } from '../krm-functions/functions.ts';
import { templateFileName } from '../gateway/store/pglite-template.ts';
import { COMPONENTS } from '../vitest.config.ts';
import { runFunction, type KubeObject } from '../krm-functions/resource-list.ts';
import { runtimeScript } from '../krm-functions/runtime-script.ts';
import { goldenCases, goldenConfig, readStream, resourceListText, withScriptPlaceholder } from './support/golden.ts';
import { validateKubeObject } from './support/kube-schemas.ts';
import { packRepository } from './support/pack.ts';

const REPO = join(import.meta.dirname, '..');
/** The cdk8s CLI a user installs beside the package (pinned, so a new CLI release cannot change this test). */
const CDK8S_CLI = 'cdk8s-cli@2.207.60';
const INSTALL_TIMEOUT_MS = 300_000;

let work: string;
let project: string;
let packedFiles: string[];

function sh(command: string, args: string[], options: { cwd: string; input?: string; env?: NodeJS.ProcessEnv }) {
  // Failure bounds for a loaded 2-core machine, not timings; a process killed (timeout, signal) says so in stderr.
  const run = spawnSync(command, args, { cwd: options.cwd, input: options.input, env: options.env ?? process.env, encoding: 'utf8', timeout: 360_000, maxBuffer: 64 * 1024 * 1024 });
  const killed = run.signal ? `\n(${command} ${args.join(' ')} was killed by ${run.signal}${run.error ? `: ${run.error.message}` : ''})` : '';
  return { code: run.status, stdout: run.stdout, stderr: `${run.stderr}${killed}` };
}

const bin = (name: string) => join(project, 'node_modules', '.bin', name);
const LOCAL_CONFIG = 'config.kubernetes.io/local-config';
const applied = (items: KubeObject[]) => items.filter((o) => o.metadata.annotations?.[LOCAL_CONFIG] !== 'true');
const byKey = (objects: KubeObject[]) => [...objects].sort((a, b) => `${a.kind}/${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.namespace}/${b.metadata.name}`));

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'asya-package-'));
  const pack = packRepository(work);
  packedFiles = pack.files;
  project = join(work, 'app');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), '{"name": "user-app", "private": true, "type": "module"}\n');
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', pack.tarball, CDK8S_CLI, 'cdk8s@2', 'constructs@10', 'yaml@2'], { cwd: project, stdio: 'ignore', timeout: INSTALL_TIMEOUT_MS });
}, INSTALL_TIMEOUT_MS + 60_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the tarball carries both bundles, the compiled library with its types, the embedded database template, and no tests', () => {
  expect(packedFiles).toEqual(expect.arrayContaining([
    'dist/krm/inject-sidecar.cjs',
    'dist/krm/keda-scaler.cjs',
    'dist/lib/charts-ts/index.js',
    'dist/lib/charts-ts/index.d.ts',
    'dist/lib/krm-functions/index.js',
    'dist/lib/krm-functions/index.d.ts',
    'dist/lib/runtime/node/pause.js',
    'dist/lib/runtime/node/pause.d.ts',
    'dist/lib/runtime/python/asya_runtime.py',
    `dist/pglite/${templateFileName()}`,
    'bin/asya.js',
  ]));
  expect(packedFiles.filter((f) => f.endsWith('.test.ts') || f.includes('/testdata/') || f.startsWith('test/'))).toEqual([]);
  // Every component folder ships: the installed `asya` runs its TypeScript (a folder missing from package.json's
  // `files` broke every command that imports it).
  expect(COMPONENTS.filter((folder) => !packedFiles.some((f) => f.startsWith(`${folder}/`)))).toEqual([]);
});

describe.each(Object.keys(FUNCTIONS))('bin asya-%s from the installed package', (fn) => {
  test.each(goldenCases(fn).map((c) => [c.name, c.dir] as const))('%s: the same bytes as the function in-process, and the golden items', (_name, dir) => {
    const input = resourceListText(readStream(join(dir, 'input.yaml')), goldenConfig(dir));
    const run = sh(bin(`asya-${fn}`), [], { cwd: project, input });
    const inProcess = runFunction(FUNCTIONS[fn]!, input);
    expect(run.stdout).toBe(inProcess.stdout);
    expect(run.code, run.stderr).toBe(inProcess.exitCode);
    const { items, scripts } = withScriptPlaceholder((YAML.parse(run.stdout) as { items: KubeObject[] }).items);
    for (const script of scripts) expect(script).toBe(runtimeScript());
    expect(items).toEqual(readStream(join(dir, 'expected.yaml')));
  });
});

/** What `node` prints for an ES module run inside the user's project, where `asya/...` resolves to the package. */
function nodeInProject(source: string): string {
  const run = sh(process.execPath, ['--input-type=module', '-e', source], { cwd: project });
  expect(run.code, run.stderr).toBe(0);
  return run.stdout;
}

const exportedNames = (specifier: string) => JSON.parse(nodeInProject(`const m = await import('${specifier}'); console.log(JSON.stringify(Object.keys(m).sort()));`)) as string[];

/** The type-only names an entry point's .d.ts exports (`export type { A, B } from ...`). */
function exportedTypeNames(dts: string): string[] {
  const text = readFileSync(join(project, 'node_modules/asya', dts), 'utf8');
  return [...text.matchAll(/export type \{([^}]*)\}/g)].flatMap((m) => m[1]!.split(',').map((s) => s.trim())).filter(Boolean).sort();
}

describe('the public surface (change these lists only on purpose)', () => {
  test('asya/cdk8s', () => {
    expect(exportedNames('asya/cdk8s')).toEqual([
      'AsyncActor', 'AsyncActorSynthError', 'CHART_IDS', 'ControllerChart', 'CrdChart', 'CrewChart', 'GatewayChart', 'MonitoringChart',
      'NamespaceChart', 'PATTERNS', 'PlatformOptionsError', 'TrialPostgresChart', 'TrialRabbitMqChart', 'addPlatformCharts', 'appObjects',
      'asyncActorResource', 'platformApps', 'renderAsyncActor', 'resolveOptions',
    ]);
    expect(exportedTypeNames('dist/lib/charts-ts/index.d.ts')).toEqual([
      'AsyncActorProps', 'AsyncActorSpecInput', 'ClusterApp', 'Pattern', 'PlatformOptions', 'PlatformSettings', 'ResolvedOptions', 'SecretKey',
    ]);
  });

  test('asya/krm', () => {
    expect(exportedNames('asya/krm')).toEqual([
      'FUNCTIONS', 'InputError', 'hasErrors', 'injectSidecar', 'kedaScaler', 'parseInput', 'readPlatformConfig', 'renderPipeline', 'runExecutable', 'runFunction', 'stringify',
    ]);
    expect(exportedTypeNames('dist/lib/krm-functions/index.d.ts')).toEqual([
      'FunctionInput', 'FunctionOutput', 'FunctionRun', 'KrmTransform', 'KubeObject', 'ObjectMeta', 'PlatformConfig', 'ResourceRef', 'Result',
    ]);
  });

  test('asya/pause', () => {
    expect(exportedNames('asya/pause')).toEqual(['PAUSE_MARKER', 'isPause', 'pause', 'pausedOutput']);
    const marker = JSON.parse(nodeInProject(`const { pause } = await import('asya/pause'); console.log(JSON.stringify(pause('Go?', { payload: { a: 1 }, timeoutSeconds: 5 })));`));
    expect(marker).toEqual({ __asya_pause__: { prompt: 'Go?', timeout_seconds: 5 }, payload: { a: 1 } });
  });

  test('nothing but the declared entry points is importable', () => {
    const run = sh(process.execPath, ['--input-type=module', '-e', "await import('asya/charts-ts/async-actor.ts')"], { cwd: project });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('ERR_PACKAGE_PATH_NOT_EXPORTED');
  });
});

// The user's app: their actors as YAML files beside it, the platform settings file, the construct per actor.
const USER_APP = `import { readFileSync, readdirSync } from 'node:fs';
import { App, Chart } from 'cdk8s';
import YAML from 'yaml';
import { AsyncActor, type AsyncActorProps, type PlatformSettings } from 'asya/cdk8s';

const platform = (YAML.parse(readFileSync('platform.yaml', 'utf8')) as { spec: PlatformSettings }).spec;
const app = new App();
const chart = new Chart(app, 'actors');
for (const file of readdirSync('actors').filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort()) {
  const actor = YAML.parse(readFileSync(\`actors/\${file}\`, 'utf8')) as Pick<AsyncActorProps, 'metadata' | 'spec'>;
  const construct = new AsyncActor(chart, actor.metadata.name, { ...actor, platform });
  for (const result of construct.results) console.error(\`\${actor.metadata.name}: \${result.severity}: \${result.message}\`);
}
app.synth();
`;

test("a user's cdk8s app outside the repository: cdk8s synth gives the bins' and asya render's objects, every one schema-valid", async () => {
  const hello = join(REPO, 'examples/hello');
  cpSync(join(hello, 'actors'), join(project, 'actors'), { recursive: true });
  cpSync(join(hello, 'platform.yaml'), join(project, 'platform.yaml'));
  writeFileSync(join(project, 'main.ts'), USER_APP);
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, types: ['node'], typeRoots: [join(REPO, 'node_modules/@types')], outDir: '.' }, files: ['main.ts'] }));
  writeFileSync(join(project, 'cdk8s.yaml'), 'language: typescript\napp: node main.js\n');

  // The user's own TypeScript (the checkout's compiler stands in for theirs): strict, the package's .d.ts included.
  const tsc = sh(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: project });
  expect(tsc.code, tsc.stdout + tsc.stderr).toBe(0);
  // --no-check-upgrade: the CLI would otherwise ask the npm registry for its latest version after every synth.
  const synth = sh(bin('cdk8s'), ['synth', '--no-check-upgrade'], { cwd: project });
  expect(synth.code, synth.stdout + synth.stderr).toBe(0);
  const synthesized = readdirSync(join(project, 'dist')).flatMap((f) => readStream(join(project, 'dist', f)) as KubeObject[]);

  const actors = readdirSync(join(project, 'actors')).filter((f) => f !== 'kustomization.yaml').sort().flatMap((f) => readStream(join(project, 'actors', f)));
  const platform = readStream(join(project, 'platform.yaml'))[0];
  const pipe = sh('sh', ['-c', 'asya-inject-sidecar | asya-keda-scaler'], {
    cwd: project,
    input: resourceListText(actors, platform),
    env: { ...process.env, PATH: `${join(project, 'node_modules/.bin')}:${process.env.PATH}` },
  });
  expect(pipe.code, pipe.stderr).toBe(0);
  const piped = applied((YAML.parse(pipe.stdout) as { items: KubeObject[] }).items);

  expect(synthesized.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'Deployment', 'Deployment', 'ScaledObject', 'ScaledObject', 'ScaledObject', 'TriggerAuthentication']);
  expect(byKey(synthesized)).toEqual(byKey(piped));
  // The GitOps route, `asya render` from the same package, gives the same objects.
  const render = sh(bin('asya'), ['render', 'actors', '--platform', 'platform.yaml', '-o', 'rendered'], { cwd: project });
  expect(render.code, render.stderr).toBe(0);
  const rendered = readdirSync(join(project, 'rendered')).filter((f) => f !== 'kustomization.yaml').flatMap((f) => readStream(join(project, 'rendered', f)) as KubeObject[]);
  expect(byKey(rendered)).toEqual(byKey(synthesized));
  for (const object of synthesized) await validateKubeObject(object);
}, 600_000);
