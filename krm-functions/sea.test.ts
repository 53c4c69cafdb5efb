/**
 * The single executables (krm-functions/sea.ts) with no Node.js anywhere on PATH: on every golden case each
 * prints byte for byte what its bundle prints under node, with the same exit code.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { goldenCases, goldenConfig, readStream, resourceListText } from '../test/support/golden.ts';
import { buildKrmFunctions, KRM_FUNCTIONS } from './build.ts';
import { buildSeaExecutables, type SeaExecutables } from './sea.ts';

const BUILD_TIMEOUT_MS = 240_000;
let work: string;
let bundles: SeaExecutables;
let executables: SeaExecutables;
/** An environment in which `node` cannot be found: PATH is one empty directory. */
let noNode: NodeJS.ProcessEnv;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'asya-sea-test-'));
  bundles = await buildKrmFunctions(join(work, 'krm'));
  executables = await buildSeaExecutables(join(work, 'sea'));
  mkdirSync(join(work, 'empty-path'));
  noNode = { PATH: join(work, 'empty-path'), HOME: work };
}, BUILD_TIMEOUT_MS);
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the environment the executables run in has no node', () => {
  const probe = spawnSync('node', ['--version'], { env: noNode });
  expect((probe.error as NodeJS.ErrnoException | undefined)?.code).toBe('ENOENT');
  expect(spawnSync('node', ['--version']).status).toBe(0); // a guard: the same call finds node with the usual PATH
});

describe.each(Object.keys(KRM_FUNCTIONS) as (keyof typeof KRM_FUNCTIONS)[])('asya-%s as a single executable', (fn) => {
  test.each(goldenCases(fn).map((c) => [c.name, c.dir] as const))('%s: the same bytes and exit code as the bundle under node', (_name, dir) => {
    const input = resourceListText(readStream(join(dir, 'input.yaml')), goldenConfig(dir));
    const bundle = spawnSync(process.execPath, [bundles[fn]], { input, encoding: 'utf8' });
    const sea = spawnSync(executables[fn], [], { input, encoding: 'utf8', env: noNode, cwd: work });
    expect(sea.error).toBeUndefined();
    expect(sea.stdout).toBe(bundle.stdout);
    expect(sea.stderr).toBe(bundle.stderr);
    expect(sea.status).toBe(bundle.status);
    expect(bundle.stdout).toContain('kind: ResourceList'); // a guard: the comparison is of real output
  });
});
