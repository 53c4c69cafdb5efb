#!/usr/bin/env node
// Runs the whole suite with vitest and ends with the plain line `N passed, N failed` that CI reads.
// Extra arguments go to vitest (e.g. a folder to run only that component's tests).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'asya-vitest-'));
const report = join(dir, 'report.json');
const run = spawnSync(
  process.execPath,
  ['node_modules/vitest/vitest.mjs', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)],
  { stdio: 'inherit' },
);

let passed = 0;
let failed = 0;
try {
  const result = JSON.parse(readFileSync(report, 'utf8'));
  passed = result.numPassedTests;
  failed = result.numFailedTests;
  // A file that fails to load has no tests to count; it still failed.
  for (const file of result.testResults) if (file.status === 'failed' && file.assertionResults.length === 0) failed += 1;
} catch {
  failed += 1;
  console.error('test/run: vitest wrote no report');
}
rmSync(dir, { recursive: true, force: true });
if (run.status !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && run.status === 0 ? 0 : 1);
