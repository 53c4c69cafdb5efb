/**
 * How much of the sidecar's memory its two largest libraries cost (issue 16, goal 4): bench/memory's hop, run on
 * a sidecar bundle where zod and prom-client are replaced by inert stand-ins, beside this checkout's real bundle.
 * What the stand-ins give (no validation, no metrics) is wrong on purpose, but an echo hop on RabbitMQ needs
 * neither, so the difference is the weight of the two libraries, and the stubbed figure is the least a sidecar
 * keeping everything else could weigh. A measurement of a design lever, never a build anyone runs.
 *
 *   npx tsx bench/memory/without-libraries.ts [hop-messages]   (after `make build`; default 5000)
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Plugin } from 'esbuild';
import { buildSidecar } from '../../cli/build.ts';
import { REPO_ROOT } from '../../test/support/runtime-process.ts';

const MESSAGES = process.argv[2] ?? '5000';
const STUBBED = ['zod', 'prom-client'];

// Anything read from it is itself; called or constructed, it answers itself; parse and safeParse accept the value.
const INERT = `const inert = new Proxy(function () {}, {
  get: (_, key) => key === 'then' ? undefined : key === 'parse' ? (v) => v : key === 'safeParse' ? (v) => ({ success: true, data: v }) : inert,
  apply: () => inert,
  construct: () => inert,
});
export const z = inert, Counter = inert, Gauge = inert, Histogram = inert, Registry = inert, collectDefaultMetrics = inert;
export default inert;`;

const stubLibraries: Plugin = {
  name: 'stub-libraries',
  setup(build) {
    build.onResolve({ filter: new RegExp(`^(${STUBBED.join('|')})$`) }, (args) => ({ path: args.path, namespace: 'inert' }));
    build.onLoad({ filter: /.*/, namespace: 'inert' }, () => ({ contents: INERT, loader: 'js' }));
  },
};

const root = mkdtempSync(join(tmpdir(), 'asya-bench-without-libraries-'));
try {
  // A checkout-like root for ASYA_BENCH_ROOT: this checkout's dist, but the sidecar bundle built with the stand-ins.
  mkdirSync(join(root, 'dist'));
  for (const entry of readdirSync(join(REPO_ROOT, 'dist'))) if (entry !== 'sidecar') symlinkSync(join(REPO_ROOT, 'dist', entry), join(root, 'dist', entry));
  await buildSidecar(join(root, 'dist'), [stubLibraries]);
  for (const [label, env] of [
    ['this checkout', {}],
    [`without ${STUBBED.join(' and ')}`, { ASYA_BENCH_ROOT: root }],
  ] as const) {
    process.stderr.write(`bench/memory's hop, ${label}\n`);
    const run = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'bench/memory/run.ts'), MESSAGES], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env, ASYA_BENCH_MEMORY_PARTS: 'hop' },
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
    });
    if (run.status !== 0) throw new Error(`bench/memory (${label}) exited with ${run.status}`);
    process.stdout.write(`${label}:\n${run.stdout}\n`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
