/**
 * bench/krm: N AsyncActors (default 1,000, one file each, a mix of transports, workload kinds and scaling)
 * through both KRM functions with kpt, each beside a raw baseline in the same run that replaces our
 * functions with a pass-through (kpt's own cost):
 * - pipe: `kpt fn source --fn-config platform.yaml | inject-sidecar | keda-scaler` (what CI runs to produce
 *   manifests for ArgoCD/Flux or kubectl apply);
 * - render: `kpt fn render --allow-exec` of a Kptfile pipeline, which also writes every generated object
 *   back into the package as a file.
 * - plain pipe: the ResourceList `kpt fn source` wrote, from a file, through both functions without kpt
 *   (issue 16's goal 7: 1,000 actors in ≤ 1 s); baseline: the same pipe through two pass-throughs. Also the
 *   CPU time the pipe's processes used, steadier than wall time on a loaded machine.
 * Also the pure transforms in-process, which is what the controller calls.
 * `--pipe-only` runs the pipes alone (no render); ASYA_BENCH_ROOT=<checkout with `make krm` done> runs that
 * checkout's dist/krm functions instead of building this one's (the "before" of docs/performance.md).
 * Usage: npx tsx bench/krm/run.ts [actors] [runs] [--pipe-only]
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildKrmFunctions } from '../../krm-functions/build.ts';
import { injectSidecar } from '../../krm-functions/inject-sidecar/transform.ts';
import { kedaScaler } from '../../krm-functions/keda-scaler/transform.ts';
import { stringify, type KubeObject } from '../../krm-functions/resource-list.ts';
import { median, printTable } from '../support.ts';

const args = process.argv.slice(2).filter((a) => a !== '--pipe-only');
const PIPE_ONLY = process.argv.includes('--pipe-only');
const N = Number(args[0] ?? 1000);
const RUNS = Number(args[1] ?? 3);

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

/** `cat list | fns…` without kpt: wall ms, and the user + system CPU ms of the pipe's processes (bash's `times`). */
function plainPipe(list: string, fns: string[]): { wall: number; cpu: number } {
  let cpu = 0;
  const wall = timed(() => {
    const r = spawnSync('bash', ['-c', `set -o pipefail; ${[`cat ${list}`, ...fns].join(' | ')} > /dev/null || exit 1; times`], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`pipe failed: ${r.stderr}`);
    const children = r.stdout.trim().split('\n').at(-1)!.match(/(\d+)m([\d.]+)s/g)!;
    cpu = children.reduce((sum, t) => sum + (Number(/(\d+)m/.exec(t)![1]) * 60 + Number(/m([\d.]+)s/.exec(t)![1])) * 1000, 0);
  });
  return { wall, cpu };
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

const root = mkdtempSync(join(tmpdir(), 'asya-bench-krm-'));
try {
  const before = process.env.ASYA_BENCH_ROOT;
  const fns = before
    ? { 'inject-sidecar': join(before, 'dist/krm/inject-sidecar.cjs'), 'keda-scaler': join(before, 'dist/krm/keda-scaler.cjs') }
    : await buildKrmFunctions(join(root, 'fns'));
  mkdirSync(join(root, 'fns'), { recursive: true });
  const passThrough = join(root, 'fns', 'pass-through.cjs');
  // The raw baseline: a function that answers its input unchanged (no parsing), so only kpt's work remains.
  writeFileSync(passThrough, '#!/usr/bin/env node\nprocess.stdin.pipe(process.stdout);\n');
  chmodSync(passThrough, 0o755);

  const ours = [fns['inject-sidecar'], fns['keda-scaler']];
  const raw = [passThrough, passThrough];
  const runs = { pipeRaw: [] as number[], pipe: [] as number[], renderRaw: [] as number[], render: [] as number[], renderRendered: [] as number[] };
  const plain = { raw: [] as number[], rawCpu: [] as number[], ours: [] as number[], oursCpu: [] as number[] };
  const source = makePackage(root, []);
  const list = join(root, 'resource-list.yaml');
  const sourced = spawnSync('bash', ['-c', `kpt fn source ${source} --fn-config ${join(source, 'platform.yaml')} > ${list}`], { encoding: 'utf8' });
  if (sourced.status !== 0) throw new Error(`kpt fn source failed: ${sourced.stderr}`);
  const loadBefore = loadavg()[0]!;
  for (let run = 0; run < RUNS; run++) {
    process.stderr.write(`run ${run + 1}/${RUNS}: ${N} actors\n`);
    const plainRaw = plainPipe(list, raw);
    const plainOurs = plainPipe(list, ours);
    plain.raw.push(plainRaw.wall);
    plain.rawCpu.push(plainRaw.cpu);
    plain.ours.push(plainOurs.wall);
    plain.oursCpu.push(plainOurs.cpu);
    runs.pipeRaw.push(pipe(source, raw));
    runs.pipe.push(pipe(source, ours));
    if (PIPE_ONLY) continue;
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
  const plainGoal = median(plain.ours) <= 1000 ? 'met' : 'not met';
  const loadAfter = loadavg()[0]!;
  // The title stays the same from run to run, so that bench/all.ts folds the runs' tables into one.
  printTable(`bench/krm: ${N} AsyncActors, ${RUNS} runs (${before ? `functions of ${before}` : 'this checkout'}; goal: the plain pipe ≤ 1000 ms)`, [
    row('plain pipe: cat list | 2 pass-through (baseline)', plain.raw),
    row('plain pipe: cat list | inject-sidecar | keda-scaler', plain.ours),
    row('  CPU of the baseline pipe', plain.rawCpu),
    row('  CPU of our pipe', plain.oursCpu),
    row('pipe: kpt fn source | 2 pass-through (baseline)', runs.pipeRaw),
    row('pipe: kpt fn source | inject-sidecar | keda-scaler', runs.pipe),
    ...(PIPE_ONLY
      ? []
      : [
          row('render: Kptfile, 2 pass-through (baseline)', runs.renderRaw),
          row('render: Kptfile, inject-sidecar + keda-scaler', runs.render),
          row('render: the rendered package, 2 pass-through', runs.renderRendered),
        ]),
    row('both transforms in-process (controller path)', inProcess),
  ]);
  console.log(`the plain pipe's goal (≤ 1000 ms): ${plainGoal}; load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
