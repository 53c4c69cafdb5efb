/**
 * The GitOps kits in deploy/ run as their tools would run them, with `asya` installed from the packed tarball
 * and nothing of the repository's state: the ArgoCD plugin's discover, init and generate commands exactly as
 * plugin.yaml writes them, with the ARGOCD_APP_* environment; the Flux workflow's render and commit steps
 * exactly as the workflow writes them; the repo-server patches through `kubectl kustomize` on a minimal base.
 * ArgoCD, Flux and GitHub Actions themselves cannot run here (no cluster): see docs/deployment.md.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import YAML from 'yaml';
import { installPackedAsya, type PackedAsya } from './support/packed-asya.ts';
import { byId, examplePipelineObjects, idOf, objects, validateAll, type RenderedObject } from './support/rendered.ts';
import { requireTools } from './support/tools.ts';
import { buildKrmFunctions } from '../krm-functions/build.ts';

const REPO = resolve(import.meta.dirname, '..');
const ARGOCD = join(REPO, 'deploy/argocd');
const PIPELINE_OBJECTS = examplePipelineObjects(join(import.meta.dirname, '..'));

let scratch = '';
let packed: PackedAsya;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'asya-gitops-'));
  packed = installPackedAsya(scratch);
}, 10 * 60_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
beforeEach((ctx) => requireTools(ctx, ['kubectl']));

/** A user's environment: the installed `asya` first on PATH, no settings of ours. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ASYA_') && !k.startsWith('VITEST') && k !== 'NODE_OPTIONS'));
  return { ...env, PATH: `${packed.bin}:${process.env.PATH}`, ...extra };
}

function run(command: string[], cwd: string, env: NodeJS.ProcessEnv) {
  const result = spawnSync(command[0]!, command.slice(1), { cwd, env, encoding: 'utf8', timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const readYaml = <T>(path: string) => YAML.parse(readFileSync(path, 'utf8')) as T;
let checkouts = 0;

/** A fresh folder holding `files` copied from the repository (to → from). */
function checkout(files: Record<string, string>): string {
  const dir = join(scratch, `checkout-${++checkouts}`);
  for (const [to, from] of Object.entries(files)) cpSync(join(REPO, from), join(dir, to), { recursive: true });
  return dir;
}

function kustomize(dir: string, extra: string[] = [], env: NodeJS.ProcessEnv = process.env): RenderedObject[] {
  const built = run(['kubectl', 'kustomize', ...extra, dir], dir, env);
  expect(built.code, built.stderr).toBe(0);
  return objects(built.stdout);
}

describe('ArgoCD Config Management Plugin (deploy/argocd/cmp/plugin.yaml)', () => {
  interface Command {
    command: string[];
    args?: string[];
  }
  interface Plugin {
    metadata: { name: string };
    spec: { version: string; discover: { find: { command: string[] } }; init: Command; generate: Command };
  }
  interface Application {
    spec: { source: { path: string; repoURL: string; targetRevision: string; plugin: { name: string; env: { name: string; value: string }[] } }; destination: { namespace: string } };
    metadata: { name: string };
  }
  const plugin = readYaml<Plugin>(join(ARGOCD, 'cmp/plugin.yaml'));
  const app = readYaml<Application>(join(ARGOCD, 'application.yaml'));
  const commandOf = (c: Command) => [...c.command, ...(c.args ?? [])];

  /** What ArgoCD sets for the example Application (build environment and ARGOCD_ENV_ for the plugin env). */
  function argocdEnv(pluginEnv = app.spec.source.plugin.env): NodeJS.ProcessEnv {
    return userEnv({
      ARGOCD_APP_NAME: app.metadata.name,
      ARGOCD_APP_NAMESPACE: app.spec.destination.namespace,
      ARGOCD_APP_SOURCE_PATH: app.spec.source.path,
      ARGOCD_APP_SOURCE_REPO_URL: app.spec.source.repoURL,
      ARGOCD_APP_SOURCE_TARGET_REVISION: app.spec.source.targetRevision,
      ARGOCD_APP_REVISION: '0123456789abcdef0123456789abcdef01234567',
      ...Object.fromEntries(pluginEnv.map((e) => [`ARGOCD_ENV_${e.name}`, e.value])),
    });
  }
  const appDir = () => join(checkout({ [app.spec.source.path]: 'examples/pipeline' }), app.spec.source.path);

  test('the example Application names this plugin as ArgoCD resolves it (<name>-<version>)', () => {
    expect(app.spec.source.plugin.name).toBe(`${plugin.metadata.name}-${plugin.spec.version}`);
    expect(app.spec.source.path).toBe('examples/pipeline');
  });

  test('discover matches a folder of AsyncActors (zero exit and output) and not one without', () => {
    const dir = appDir();
    const found = run(plugin.spec.discover.find.command, dir, argocdEnv());
    expect(found.code, found.stderr).toBe(0);
    expect(found.stdout.trim()).toMatch(/^\.\/actors\/\w+\.yaml$/);
    const none = run(plugin.spec.discover.find.command, join(dir, 'handlers'), argocdEnv());
    expect(none.stdout).toBe('');
  });

  test('init and generate: the output is `asya render`\'s, every object schema-valid, applied as it is', async () => {
    const dir = appDir();
    const init = run(commandOf(plugin.spec.init), dir, argocdEnv());
    expect(init.code, init.stderr).toBe(0);
    expect(init.stderr).toMatch(/^asya \d+\.\d+\.\d+/);
    const generated = run(commandOf(plugin.spec.generate), dir, argocdEnv());
    expect(generated.code, generated.stderr).toBe(0);
    const direct = run(['asya', 'render', '.', '--platform', 'platform.yaml'], dir, userEnv());
    expect(direct.code, direct.stderr).toBe(0);
    expect(generated.stdout).toBe(direct.stdout);
    const out = objects(generated.stdout);
    expect(out.map(idOf).sort()).toEqual(PIPELINE_OBJECTS);
    await validateAll(out);
    // The platform file reached the functions: its broker host, not the default one.
    expect(generated.stdout).toContain('rabbitmq.asya');
  }, 120_000);

  test('without the ASYA_PLATFORM env the defaults apply; a broken actor fails generate with the file named', () => {
    const dir = appDir();
    const defaults = run(commandOf(plugin.spec.generate), dir, argocdEnv([]));
    expect(defaults.code, defaults.stderr).toBe(0);
    expect(defaults.stdout).not.toContain('rabbitmq.asya');
    writeFileSync(join(dir, 'actors/judge.yaml'), readFileSync(join(dir, 'actors/judge.yaml'), 'utf8').replace('transport: rabbitmq', 'transport: kafka'));
    const broken = run(commandOf(plugin.spec.generate), dir, argocdEnv());
    expect(broken.code).toBe(1);
    expect(broken.stdout).toBe('');
    expect(broken.stderr).toContain('asya render: actors/judge.yaml: [error] AsyncActor/judge: unknown transport "kafka"');
  }, 120_000);
});

describe('ArgoCD repo-server patches (kubectl kustomize on a minimal ArgoCD base)', () => {
  /** The parts of ArgoCD's install.yaml the patches touch: argocd-cm and argocd-repo-server with its volumes. */
  function minimalArgocd(component: string): string {
    const dir = checkout({ 'argocd-kit': 'deploy/argocd' });
    mkdirSync(join(dir, 'base'));
    writeFileSync(join(dir, 'base/install.yaml'), `apiVersion: v1
kind: ConfigMap
metadata: {name: argocd-cm}
data: {}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: argocd-repo-server}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: argocd-repo-server}}
  template:
    metadata: {labels: {app.kubernetes.io/name: argocd-repo-server}}
    spec:
      containers:
      - name: argocd-repo-server
        image: quay.io/argoproj/argocd:v3.1.0
        volumeMounts:
        - {name: var-files, mountPath: /var/run/argocd}
        - {name: plugins, mountPath: /home/argocd/cmp-server/plugins}
      volumes:
      - {name: var-files, emptyDir: {}}
      - {name: plugins, emptyDir: {}}
`);
    writeFileSync(join(dir, 'base/kustomization.yaml'), `namespace: argocd\nresources: [install.yaml]\ncomponents: [../argocd-kit/${component}]\n`);
    return join(dir, 'base');
  }

  interface PodSpec {
    initContainers?: { name: string; command: string[]; volumeMounts: { name: string }[] }[];
    containers: { name: string; command?: string[]; env?: { name: string; value: string }[]; volumeMounts: { name: string; mountPath: string; subPath?: string }[]; securityContext?: { runAsUser?: number } }[];
    volumes: { name: string; configMap?: { name: string } }[];
  }
  const podOf = (out: RenderedObject[]) => (out.find((o) => o.kind === 'Deployment') as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
  function expectMountsResolve(pod: PodSpec): void {
    const volumes = new Set(pod.volumes.map((v) => v.name));
    for (const c of [...(pod.initContainers ?? []), ...pod.containers]) for (const m of c.volumeMounts) expect(volumes, `${c.name} mounts ${m.name}`).toContain(m.name);
  }

  test('cmp: the asya sidecar runs argocd-cmp-server as user 999 with plugin.yaml from the generated ConfigMap', async () => {
    const out = kustomize(minimalArgocd('cmp'));
    await validateAll(out);
    const config = out.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'asya-cmp-plugin') as unknown as { data: Record<string, string> };
    expect(config.data['plugin.yaml']).toBe(readFileSync(join(ARGOCD, 'cmp/plugin.yaml'), 'utf8'));
    const pod = podOf(out);
    const sidecar = pod.containers.find((c) => c.name === 'asya-cmp')!;
    expect(sidecar.command).toEqual(['/var/run/argocd/argocd-cmp-server']);
    expect(sidecar.securityContext?.runAsUser).toBe(999);
    expect(sidecar.volumeMounts).toEqual(expect.arrayContaining([
      expect.objectContaining({ name: 'var-files', mountPath: '/var/run/argocd' }),
      expect.objectContaining({ name: 'plugins', mountPath: '/home/argocd/cmp-server/plugins' }),
      { name: 'asya-cmp-plugin', mountPath: '/home/argocd/cmp-server/config/plugin.yaml', subPath: 'plugin.yaml' },
    ]));
    expect(pod.volumes.find((v) => v.name === 'asya-cmp-plugin')?.configMap?.name).toBe('asya-cmp-plugin');
    expect(pod.containers.map((c) => c.name).sort()).toEqual(['argocd-repo-server', 'asya-cmp']);
    expectMountsResolve(pod);
  });

  test('legacy plugins: argocd-cm build options, and the functions where KUSTOMIZE_PLUGIN_HOME points, which kustomize then runs', async () => {
    const out = kustomize(minimalArgocd('legacy-plugins'));
    await validateAll(out);
    const cm = out.find((o) => o.kind === 'ConfigMap') as unknown as { data: Record<string, string> };
    const buildOptions = cm.data['kustomize.buildOptions']!.split(' ');
    expect(buildOptions).toEqual(['--enable-alpha-plugins', '--enable-exec']);
    const pod = podOf(out);
    expectMountsResolve(pod);
    const repoServer = pod.containers.find((c) => c.name === 'argocd-repo-server')!;
    const env = Object.fromEntries((repoServer.env ?? []).map((e) => [e.name, e.value]));
    const mount = repoServer.volumeMounts.find((m) => m.name === 'asya-krm-functions')!.mountPath;

    // The init container's copy, replayed with the image's paths under a fake root: the repo server's
    // env then finds the plugins and node, and kubectl kustomize (whose kustomize has no --enable-exec)
    // builds the example overlay with them.
    const root = join(scratch, `repo-server-${Date.now()}`);
    const image = join(root, 'image');
    await buildKrmFunctions(join(image, 'app/dist/krm'));
    mkdirSync(join(image, 'usr/local/bin'), { recursive: true });
    cpSync(process.execPath, join(image, 'usr/local/bin/node'));
    const init = pod.initContainers!.find((c) => c.name === 'asya-krm-functions')!;
    const script = init.command.at(-1)!.replaceAll('/asya', join(root, mount)).replaceAll('/usr/local/bin/node', join(image, 'usr/local/bin/node')).replaceAll('/app/', `${join(image, 'app')}/`);
    execFileSync('sh', ['-c', script]);
    const under = (p: string) => p.split(':').map((part) => (part.startsWith(mount) ? join(root, part) : part)).join(':');
    const pipeline = checkout({ pipeline: 'examples/pipeline' });
    const overlay = kustomize(join(pipeline, 'pipeline/kustomize'), buildOptions.filter((o) => o !== '--enable-exec'), {
      ...process.env,
      KUSTOMIZE_PLUGIN_HOME: under(env.KUSTOMIZE_PLUGIN_HOME!),
      PATH: `${under(env.PATH!)}`,
    });
    expect(overlay.map(idOf).sort()).toEqual(PIPELINE_OBJECTS.map((id) => id.replace('/', '/documents/')));
    await validateAll(overlay);
  }, 120_000);
});

describe('Flux: the CI workflow (deploy/flux/render-workflow.yaml) and the sync objects', () => {
  interface Step {
    name?: string;
    run?: string;
    env?: Record<string, string>;
  }
  interface Workflow {
    env: Record<string, string>;
    jobs: Record<string, { env?: Record<string, string>; steps: Step[] }>;
  }
  const workflow = readYaml<Workflow>(join(REPO, 'deploy/flux/render-workflow.yaml'));
  const job = workflow.jobs.render!;
  const step = (name: string) => job.steps.find((s) => s.name === name)!;
  /** A step's `run:` as GitHub's ubuntu runners run it: `bash -e`, the workflow, job and step env merged. */
  const runStep = (s: Step, cwd: string, extra: Record<string, string> = {}) =>
    run(['bash', '-e', '-c', s.run!], cwd, userEnv({ ...workflow.env, ...job.env, ...s.env, ...extra }));

  /** A repository laid out as the workflow expects: deploy/actors and deploy/platform.yaml, with an origin. */
  function repository(): { dir: string; origin: string } {
    const dir = checkout({ [workflow.env.ACTORS_DIR!]: 'examples/pipeline/actors', [workflow.env.PLATFORM_FILE!]: 'examples/pipeline/platform.yaml' });
    const origin = `${dir}-origin.git`;
    const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'pipe' });
    execFileSync('git', ['init', '-q', '--bare', origin]);
    git('init', '-q', '-b', 'main');
    git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '--allow-empty', '-m', 'start');
    git('add', '-A');
    git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'actors');
    git('remote', 'add', 'origin', origin);
    git('push', '-q', 'origin', 'main');
    return { dir, origin };
  }

  test('the render step writes a folder kubectl kustomize applies: the same objects as asya render, schema-valid', async () => {
    const { dir } = repository();
    const rendered = runStep(step('Render the AsyncActors'), dir);
    expect(rendered.code, rendered.stderr).toBe(0);
    const out = kustomize(join(dir, workflow.env.RENDER_OUT!));
    expect(out.map(idOf).sort()).toEqual(PIPELINE_OBJECTS);
    await validateAll(out);
    const direct = run(['asya', 'render', workflow.env.ACTORS_DIR!, '--platform', workflow.env.PLATFORM_FILE!], dir, userEnv());
    expect(direct.code, direct.stderr).toBe(0);
    expect(byId(out)).toEqual(byId(objects(direct.stdout)));
  }, 120_000);

  test('the commit step puts the folder on the deploy branch Flux watches; with nothing changed it commits nothing', () => {
    const { dir, origin } = repository();
    const runnerTemp = mkdtempSync(join(scratch, 'runner-temp-'));
    const ci = { RUNNER_TEMP: runnerTemp, GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567' };
    expect(runStep(step('Render the AsyncActors'), dir).code).toBe(0);
    const first = runStep(step('Commit the rendered manifests to the deploy branch'), dir, ci);
    expect(first.code, first.stderr).toBe(0);
    const deployLog = () => execFileSync('git', ['log', '--format=%s', workflow.env.DEPLOY_BRANCH!], { cwd: origin }).toString().trim().split('\n');
    expect(deployLog()).toEqual([`render ${ci.GITHUB_SHA}`]);

    // What Flux's GitRepository + Kustomization (flux-sync.yaml) fetch and build.
    const sync = YAML.parseAllDocuments(readFileSync(join(REPO, 'deploy/flux/flux-sync.yaml'), 'utf8')).map((d) => d.toJS()) as [
      { kind: string; metadata: { name: string }; spec: { ref: { branch: string } } },
      { kind: string; spec: { path: string; sourceRef: { kind: string; name: string } } },
    ];
    expect(sync[0].spec.ref.branch).toBe(workflow.env.DEPLOY_BRANCH);
    expect(sync[1].spec.sourceRef).toEqual({ kind: 'GitRepository', name: sync[0].metadata.name });
    const clone = join(scratch, `flux-clone-${Date.now()}`);
    execFileSync('git', ['clone', '-q', '--branch', sync[0].spec.ref.branch, origin, clone]);
    expect(kustomize(join(clone, sync[1].spec.path)).map(idOf).sort()).toEqual(PIPELINE_OBJECTS);

    rmSync(join(runnerTemp, 'deploy-tree'), { recursive: true, force: true });
    execFileSync('git', ['worktree', 'prune'], { cwd: dir });
    expect(runStep(step('Render the AsyncActors'), dir).code).toBe(0);
    const second = runStep(step('Commit the rendered manifests to the deploy branch'), dir, ci);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('the rendered manifests did not change');
    expect(deployLog()).toHaveLength(1);
  }, 120_000);
});
