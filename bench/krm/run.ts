/**
 * bench/krm: N AsyncActors (default 1,000, one file each, a mix of transports, workload kinds and scaling)
 * through both KRM functions with kpt, each beside a raw baseline in the same run that replaces our
 * functions with a pass-through (kpt's own cost):
 * - pipe: `kpt fn source --fn-config platform.yaml | inject-sidecar | keda-scaler` (what CI runs to produce
 *   manifests for ArgoCD/Flux or kubectl apply);
 * - render: `kpt fn render --allow-exec` of a Kptfile pipeline, which also writes every generated object
 *   back into the package as a file.
 * Also the pure transforms in-process, which is what the controller calls.
 * Usage: npx tsx bench/krm/run.ts [actors] [runs]
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildKrmFunctions } from '../../krm-functions/build.ts';
import { injectSidecar } from '../../krm-functions/inject-sidecar/transform.ts';
import { kedaScaler } from '../../krm-functions/keda-scaler/transform.ts';
import { stringify, type KubeObject } from '../../krm-functions/resource-list.ts';
import { printTable } from '../support.ts';

const N = Number(process.argv[2] ?? 1000);
const RUNS = Number(process.argv[3] ?? 3);

function actor(i: number): KubeObject {
  const kinds = ['Deployment', 'Deployment', 'StatefulSet', 'Job'] as const;
  return {
    apiVersion: 'asya.sh/v1alpha1',
    kind: 'AsyncActor',
    metadata: { name: `actor-${i}`, namespace: `team-${i % 10}` },
    spec: {
      transport: i % 3 === 0 ? 'sqs' : 'rabbitmq',
      timeout: { processing: 60 },
      scaling: { enabled: i % 5 !== 0, maxReplicas: 10, queueLength: 4 },
      retry: { maxAttempts: 3 },
      workload: {
        kind: kinds[i % kinds.length],
        template: { spec: { containers: [{ name: 'asya-runtime', image: `registry.example.com/actor-${i}:1`, env: [{ name: 'ASYA_HANDLER', value: i % 4 === 1 ? 'h.ts#run' : 'handler.process' }] }] } },
      },
    },
  };
}

const PLATFORM = {
  apiVersion: 'fn.asya.sh/v1alpha1',
  kind: 'AsyaPlatform',
  metadata: { name: 'platform', annotations: { 'config.kubernetes.io/local-config': 'true' } },
  spec: { gatewayUrl: 'http://asya-gateway:8080', transports: { sqs: { accountId: '123456789012' }, rabbitmq: { managementUrl: 'http://rabbitmq:15672' } } },
};

function kptfile(mutators: string[]): string {
  return stringify({
    apiVersion: 'kpt.dev/v1',
    kind: 'Kptfile',
    metadata: { name: 'bench', annotations: { 'config.kubernetes.io/local-config': 'true' } },
    pipeline: { mutators: mutators.map((exec) => ({ exec, configPath: 'platform.yaml' })) },
  });
}

function setMutators(pkg: string, mutators: string[]): void {
  writeFileSync(join(pkg, 'Kptfile'), kptfile(mutators));
}

function makePackage(root: string, mutators: string[]): string {
  const pkg = mkdtempSync(join(root, 'pkg-'));
  mkdirSync(join(pkg, 'actors'));
  for (let i = 0; i < N; i++) writeFileSync(join(pkg, 'actors', `actor-${i}.yaml`), stringify(actor(i)));
  writeFileSync(join(pkg, 'platform.yaml'), stringify(PLATFORM));
  setMutators(pkg, mutators);
  return pkg;
}

function pipe(pkg: string, fns: string[]): number {
  return timed(() => {
    const command = [`kpt fn source ${pkg} --fn-config ${join(pkg, 'platform.yaml')}`, ...fns].join(' | ');
    const r = spawnSync('bash', ['-o', 'pipefail', '-c', `${command} > /dev/null`], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`pipe failed: ${r.stderr}`);
  });
}

function timed(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function render(pkg: string): number {
  return timed(() => {
    const r = spawnSync('kpt', ['fn', 'render', '.', '--allow-exec'], { cwd: pkg, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`kpt fn render failed: ${r.stderr}`);
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const root = mkdtempSync(join(tmpdir(), 'asya-bench-krm-'));
try {
  const fns = await buildKrmFunctions(join(root, 'fns'));
  const passThrough = join(root, 'fns', 'pass-through.cjs');
  // The raw baseline: a function that answers its input unchanged (no parsing), so only kpt's work remains.
  writeFileSync(passThrough, '#!/usr/bin/env node\nprocess.stdin.pipe(process.stdout);\n');
  chmodSync(passThrough, 0o755);

  const ours = [fns['inject-sidecar'], fns['keda-scaler']];
  const raw = [passThrough, passThrough];
  const runs = { pipeRaw: [] as number[], pipe: [] as number[], renderRaw: [] as number[], render: [] as number[], renderRendered: [] as number[] };
  const source = makePackage(root, []);
  for (let run = 0; run < RUNS; run++) {
    process.stderr.write(`run ${run + 1}/${RUNS}: ${N} actors\n`);
    runs.pipeRaw.push(pipe(source, raw));
    runs.pipe.push(pipe(source, ours));
    // A fresh package each time: the first render writes the generated files, as a user's CI would.
    runs.renderRaw.push(render(makePackage(root, raw)));
    const rendered = makePackage(root, ours);
    runs.render.push(render(rendered));
    // kpt's own cost at our output's size: the rendered package (4,000+ objects) through pass-throughs.
    setMutators(rendered, raw);
    runs.renderRendered.push(render(rendered));
  }
  const items = Array.from({ length: N }, (_, i) => actor(i));
  const inProcess = Array.from({ length: RUNS }, () => timed(() => kedaScaler(injectSidecar(items, PLATFORM).items, PLATFORM)));

  const row = (what: string, xs: number[]) => ({ what, 'median ms': median(xs), 'per actor ms': median(xs) / N, runs: xs.map(Math.round).join(' ') });
  printTable(`bench/krm: ${N} AsyncActors, ${RUNS} runs (goal: both functions with kpt < 2000 ms)`, [
    row('pipe: kpt fn source | 2 pass-through (baseline)', runs.pipeRaw),
    row('pipe: kpt fn source | inject-sidecar | keda-scaler', runs.pipe),
    row('render: Kptfile, 2 pass-through (baseline)', runs.renderRaw),
    row('render: Kptfile, inject-sidecar + keda-scaler', runs.render),
    row('render: the rendered package, 2 pass-through', runs.renderRendered),
    row('both transforms in-process (controller path)', inProcess),
  ]);
} finally {
  rmSync(root, { recursive: true, force: true });
}
