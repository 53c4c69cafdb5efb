/**
 * `asya synth` end to end: as a separate process (test/support/synth-entry.ts, the same runSynth that
 * `asya synth` runs), then `runSynth` in-process for the error paths. The written files are read back as YAML.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test, vi } from 'vitest';
import YAML from 'yaml';
import { runSynth } from '../cli/synth.ts';
import type { KubeObject } from '../krm-functions/resource-list.ts';
import { asyncActorCrd } from '../api/crd.ts';
import { CREW_ROLES } from '../protocol/crew.ts';
import { TRANSPORT_NAMES } from '../protocol/transports.ts';

const run = promisify(execFile);
const root = new URL('..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'asya-synth-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Where the crew stores in these runs; `asya synth` refuses to choose for the user. */
const STORAGE = ['--crew-results-pvc', 'asya-crew-results'];
const readObjects = (file: string) => YAML.parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as KubeObject);
const names = (objects: KubeObject[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`);

/** Runs runSynth in-process, capturing what it prints. */
async function synth(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  try {
    return { code: await runSynth(args), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('asya synth as a process', () => {
  test('writes one file per chart of the pattern, in apply order', async () => {
    const out = join(work, 'standard');
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'test/support/synth-entry.ts', '--out', out, '--pattern', 'standard', '--trial', '--tools', 'examples/hello/tools.yaml'], { cwd: root });
    expect(stderr).toContain('asya synth: WARNING: the gateway runs OPEN (ASYA_GATEWAY_AUTH=none)');
    const files = readdirSync(out).sort();
    expect(files).toEqual([
      '00-asya-crd.k8s.yaml',
      '01-asya-namespace.k8s.yaml',
      '10-asya-trial-rabbitmq.k8s.yaml',
      '11-asya-trial-postgresql.k8s.yaml',
      '20-asya-controller.k8s.yaml',
      '30-asya-gateway.k8s.yaml',
      '40-asya-crew.k8s.yaml',
    ]);
    expect(stdout.trim().split('\n')).toEqual(files.map((f) => join(out, f)));
    expect(readObjects(join(out, '00-asya-crd.k8s.yaml'))).toEqual([asyncActorCrd()]);
    const gateway = readObjects(join(out, '30-asya-gateway.k8s.yaml'));
    expect(names(gateway)).toContain('ConfigMap/asya-gateway-tools');
    const tools = gateway.find((o) => o.kind === 'ConfigMap') as unknown as { data: Record<string, string> };
    expect(tools.data['tools.yaml']).toBe(readFileSync(join(root, 'examples/hello/tools.yaml'), 'utf8'));
    expect(names(readObjects(join(out, '40-asya-crew.k8s.yaml')))).toEqual(CREW_ROLES.map((role) => `AsyncActor/${role}`));
  });

  test('--help prints the usage and exits 0', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'test/support/synth-entry.ts', '--help'], { cwd: root });
    expect(stdout).toMatch(/^Usage: asya synth \[--out <dir>\] \[--pattern minimal\|standard\|full\|multi-cluster\]/);
    for (const option of ['--platform', '--trial', '--tools', '--clusters', '--gateway-url', '--watch-namespaces']) expect(stdout).toContain(option);
  });
});

test('`asya synth` through bin/asya.js writes the same files', async () => {
  const out = join(work, 'through-asya');
  await run(process.execPath, ['bin/asya.js', 'synth', '--out', out, ...STORAGE], { cwd: root });
  expect(readdirSync(out).sort()).toEqual(['00-asya-crd.k8s.yaml', '01-asya-namespace.k8s.yaml', '20-asya-controller.k8s.yaml', '40-asya-crew.k8s.yaml']);
});

describe('runSynth', () => {
  test('defaults to the minimal pattern in dist/ under the working directory', async () => {
    const cwd = process.cwd();
    const dir = mkdtempSync(join(work, 'cwd-'));
    process.chdir(dir);
    try {
      const { code, stdout } = await synth([...STORAGE]);
      expect(code).toBe(0);
      expect(stdout).toContain('dist/00-asya-crd.k8s.yaml');
      expect(readdirSync(join(dir, 'dist')).sort()).toEqual(['00-asya-crd.k8s.yaml', '01-asya-namespace.k8s.yaml', '20-asya-controller.k8s.yaml', '40-asya-crew.k8s.yaml']);
    } finally {
      process.chdir(cwd);
    }
  });

  test('a later run for a smaller pattern removes the charts it no longer has', async () => {
    const out = join(work, 'shrink');
    expect((await synth(['--out', out, '--pattern', 'full', '--gateway-token-secret', 'asya-tokens', ...STORAGE])).code).toBe(0);
    expect(readdirSync(out)).toContain('50-asya-monitoring.k8s.yaml');
    writeFileSync(join(out, 'kustomization.yaml'), 'resources: []\n');
    expect((await synth(['--out', out, '--pattern', 'minimal', ...STORAGE])).code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['00-asya-crd.k8s.yaml', '01-asya-namespace.k8s.yaml', '20-asya-controller.k8s.yaml', '40-asya-crew.k8s.yaml', 'kustomization.yaml']);
  });

  test('multi-cluster writes a folder per cluster', async () => {
    const out = join(work, 'multi');
    const platform = join(work, 'shared.yaml');
    writeFileSync(platform, 'apiVersion: fn.asya.sh/v1alpha1\nkind: AsyaPlatform\nmetadata: {name: shared}\nspec:\n  transports:\n    rabbitmq: {host: mq.example.com}\n');
    const { code } = await synth(['--out', out, '--pattern', 'multi-cluster', '--clusters', 'east,west', '--platform', platform, '--gateway-url', 'https://asya.example.com', '--gateway-open', ...STORAGE]);
    expect(code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['east', 'west']);
    expect(readdirSync(join(out, 'east'))).toContain('30-asya-gateway.k8s.yaml');
    expect(readdirSync(join(out, 'west'))).not.toContain('30-asya-gateway.k8s.yaml');
  });

  test('--monitoring-label labels the monitors', async () => {
    const out = join(work, 'labels');
    expect((await synth(['--out', out, '--pattern', 'full', '--gateway-open', '--monitoring-label', 'release=prometheus', '--monitoring-label', 'team=ml', ...STORAGE])).code).toBe(0);
    const monitors = readObjects(join(out, '50-asya-monitoring.k8s.yaml')).filter((o) => o.kind.endsWith('Monitor'));
    expect(monitors).toHaveLength(3);
    for (const m of monitors) expect(m.metadata.labels).toMatchObject({ release: 'prometheus', team: 'ml' });
  });

  test('--prometheus-url points the gateway\'s console at Prometheus', async () => {
    const envOf = (dir: string) => {
      const deployment = readObjects(join(dir, '30-asya-gateway.k8s.yaml')).find((o) => o.kind === 'Deployment') as unknown as { spec: { template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } } } };
      return deployment.spec.template.spec.containers[0]!.env;
    };
    const out = join(work, 'prometheus');
    expect((await synth(['--out', out, '--pattern', 'full', '--gateway-open', '--prometheus-url', 'http://prometheus-operated.monitoring:9090', ...STORAGE])).code).toBe(0);
    expect(envOf(out)).toContainEqual({ name: 'ASYA_GATEWAY_PROMETHEUS_URL', value: 'http://prometheus-operated.monitoring:9090' });
    const without = join(work, 'no-prometheus');
    expect((await synth(['--out', without, '--pattern', 'full', '--gateway-open', ...STORAGE])).code).toBe(0);
    expect(envOf(without).map((e) => e.name)).not.toContain('ASYA_GATEWAY_PROMETHEUS_URL');
  });

  test('--crew-fan-in-policy/--crew-fan-in-timeout configure the fan-in actor; --no-crew-fan-in leaves it out; bad values exit 2 naming them', async () => {
    const out = join(work, 'fan-in');
    expect((await synth(['--out', out, '--pattern', 'standard', '--gateway-open', '--crew-fan-in-policy', 'fail-fast', '--crew-fan-in-timeout', '2m', ...STORAGE])).code).toBe(0);
    const fanIn = readObjects(join(out, '40-asya-crew.k8s.yaml')).find((o) => o.metadata.name === 'fan-in') as unknown as {
      spec: { workload: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } } };
    };
    const env = Object.fromEntries(fanIn.spec.workload.template.spec.containers[0]!.env.map((e) => [e.name, e.value]));
    expect(env.ASYA_FAN_IN_POLICY).toBe('fail-fast');
    expect(env.ASYA_FAN_IN_TIMEOUT).toBeDefined();

    const without = join(work, 'no-fan-in');
    expect((await synth(['--out', without, '--no-crew-fan-in', ...STORAGE])).code).toBe(0);
    expect(names(readObjects(join(without, '40-asya-crew.k8s.yaml')))).toEqual(CREW_ROLES.filter((r) => r !== 'fan-in').map((role) => `AsyncActor/${role}`));

    const bad = await synth(['--out', join(work, 'bad-fan-in'), '--crew-fan-in-policy', 'eventually', ...STORAGE]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('ASYA_FAN_IN_POLICY');
    const both = await synth(['--out', join(work, 'both-fan-in'), '--no-crew-fan-in', '--crew-fan-in-policy', 'partial', ...STORAGE]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--no-crew-fan-in');
  });

  test('without a gateway the fan-in needs --crew-fan-in-database-secret: without it synth leaves it out and says so', async () => {
    const plain = await synth(['--out', join(work, 'minimal-fan-in'), ...STORAGE]);
    expect(plain.code).toBe(0);
    expect(plain.stderr).toContain('asya synth: note: the fan-in crew actor is left out');
    expect(names(readObjects(join(work, 'minimal-fan-in', '40-asya-crew.k8s.yaml')))).not.toContain('AsyncActor/fan-in');

    const out = join(work, 'minimal-fan-in-db');
    const withDb = await synth(['--out', out, '--crew-fan-in-database-secret', 'fan-in-db', ...STORAGE]);
    expect(withDb.code, withDb.stderr).toBe(0);
    expect(withDb.stderr).not.toContain('left out');
    const fanIn = readObjects(join(out, '40-asya-crew.k8s.yaml')).find((o) => o.metadata.name === 'fan-in') as unknown as {
      spec: { workload: { template: { spec: { containers: { env: { name: string; valueFrom?: unknown }[] }[] } } } };
    };
    expect(fanIn.spec.workload.template.spec.containers[0]!.env).toContainEqual({ name: 'ASYA_FAN_IN_DATABASE_URL', valueFrom: { secretKeyRef: { name: 'fan-in-db', key: 'database-url' } } });

    const refused = await synth(['--out', join(work, 'gateway-fan-in-db'), '--pattern', 'standard', '--gateway-open', '--crew-fan-in-database-secret', 'fan-in-db', ...STORAGE]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('for a platform without a gateway');
  });

  test('a platform settings file in the KRM functions’ ConfigMap form works too', async () => {
    const out = join(work, 'configmap');
    const platform = join(work, 'configmap.yaml');
    writeFileSync(platform, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: p}\ndata:\n  transports.rabbitmq.host: mq.internal\n  queuePrefix: team-a-\n');
    expect((await synth(['--out', out, '--platform', platform, ...STORAGE])).code).toBe(0);
    const controller = readFileSync(join(out, '20-asya-controller.k8s.yaml'), 'utf8');
    expect(controller).toContain('host: mq.internal');
    expect(controller).toContain('value: team-a-');
  });

  test.each([
    [['--pattern', 'huge'], 2, '--pattern must be one of minimal, standard, full, multi-cluster; got "huge"'],
    [['--bogus'], 2, "Unknown option '--bogus'"],
    [['--transport', 'kafka'], 2, `--transport must be one of ${TRANSPORT_NAMES.join(', ')}`],
    [['--monitoring-label', 'release'], 2, '--monitoring-label expects key=value'],
    [['--pattern', 'multi-cluster', '--clusters', 'a'], 1, 'at least two cluster names'],
    [['--platform', '/nonexistent/platform.yaml'], 1, 'ENOENT'],
    [['--tools', '/nonexistent/tools.yaml', '--pattern', 'standard'], 1, 'ENOENT'],
    [[], 1, 'asya synth: the crew needs durable storage for results and its once-only markers: pass --crew-s3-bucket <bucket>'],
    [['--crew-s3-bucket', 'b', '--crew-ephemeral-results'], 1, 'the crew stores in one place; got --crew-s3-bucket and --crew-ephemeral-results'],
    [['--pattern', 'standard', '--crew-s3-bucket', 'b'], 1, 'asya synth: the gateway needs its tokens: --gateway-token-secret'],
  ])('%j exits %i with a clear message', async (args, exitCode, message) => {
    const { code, stderr } = await synth(['--out', join(work, 'never'), ...args]);
    expect(code).toBe(exitCode);
    expect(stderr).toContain(message);
    if (exitCode === 2) expect(stderr).toContain('Usage: asya synth');
  });

  test('invalid platform settings name the file and the field', async () => {
    const platform = join(work, 'bad.yaml');
    writeFileSync(platform, 'apiVersion: fn.asya.sh/v1alpha1\nkind: AsyaPlatform\nmetadata: {name: bad}\nspec:\n  transports:\n    rabbitmq: {port: 0}\n');
    const { code, stderr } = await synth(['--out', join(work, 'never'), '--platform', platform]);
    expect(code).toBe(1);
    expect(stderr).toContain(`${platform}: functionConfig spec.transports.rabbitmq.port`);
  });
});
