/**
 * test/run.mjs itself, run on the fixture suite in test/runner/fixture/ (its own vitest config, outside the
 * main include glob): a failing beforeAll and afterAll, a file that fails to load, an unhandled rejection,
 * tests that log, skips with reasons and a pytest file. The closing line must count every one of them.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { REPO_ROOT } from './support/runtime-process.ts';

const plain = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, '');

test('test/run.mjs on the fixture suite counts hook, load and unhandled errors and pytest tests, lists skips, and exits 1', () => {
  const run = spawnSync(process.execPath, [join(REPO_ROOT, 'test/run.mjs'), '--config', 'test/runner/fixture/vitest.config.ts'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, CI: '', FORCE_COLOR: '0' },
    timeout: 240_000,
  });
  const output = plain(`${run.stdout}${run.stderr}`);
  expect(run.status, output).toBe(1);

  // passed: the test beside the broken suite, the test before the failing afterAll, the one with an
  // unhandled rejection, the passing output test, and pytest's test_passes. failed: three tests behind
  // the failing beforeAll, the failing afterAll, the file that does not load, the failing output test,
  // pytest's test_fails, and the unhandled rejection.
  const lines = run.stdout.trimEnd().split('\n');
  expect(lines.at(-1)).toBe('5 passed, 8 failed');
  // The failures are named again just above the closing line, where a log's tail still shows them.
  expect(lines.at(-10)).toBe('failed 8:');
  expect(lines.slice(-9, -1).every((line) => line.startsWith('  × ')), lines.slice(-10).join('\n')).toBe(true);

  expect(output).toContain('hook-fails.fixture.ts > a suite whose beforeAll throws > two: did not run: fixture: beforeAll fails');
  expect(output).toContain('hook-fails.fixture.ts > a suite whose afterAll throws after its test passed: fixture: afterAll fails');
  expect(output).toContain('load-fails.fixture.ts: fixture: the file fails to load');
  // An unhandled error names the file and the test that was running when it surfaced.
  expect(output).toContain('unhandled error in test/runner/fixture/unhandled.fixture.ts > passes, but leaves a rejection nobody handles: fixture: unhandled rejection');
  expect(output).toContain('test_fixture.py::test_fails: pytest: assert 1 == 2');
  expect(output).toContain('skipped 2:');
  expect(output).toMatch(/ {2}fixture: the tool is missing:\n {4}↓ test\/runner\/fixture\/output.fixture.ts > skips with a reason\n/);
  expect(output).toMatch(/ {2}pytest: fixture: pytest skip reason:\n {4}↓ .*test_fixture.py::test_skipped\n/);

  // Output of the failing test is shown, through console, written straight to stderr, and from a child
  // process (test/support/test-output.ts); output of the passing test is not (each of its lines contains
  // LOG-OF-A-PASSING-TEST).
  expect(output).toContain('LOG-OF-A-FAILING-TEST');
  expect(output).toContain('RAW-LOG-OF-A-FAILING-TEST');
  expect(output).toContain('CHILD-LOG-OF-A-FAILING-TEST');
  expect(output).not.toContain('LOG-OF-A-PASSING-TEST');
});
