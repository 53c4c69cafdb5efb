#!/usr/bin/env node
// Runs the suite with vitest and ends with the plain line `N passed, N failed` that CI reads.
// Extra arguments go to vitest (a folder or file to run only those tests, --coverage, --config ...).
// vitest's `minimal` reporter shows failing tests with their output and nothing for passing ones;
// test/runner/count-reporter.ts counts (a failed hook, load or unhandled error counts as failed) and lists
// the skips with their reasons. The rules are in docs/testing.md.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = dirname(dirname(fileURLToPath(import.meta.url)));
// test/services.sh writes this file when the shared RabbitMQ does not answer and it started one of the
// suite's own: which broker the tests use (ASYA_TEST_RABBITMQ_URL) and which node rabbitmqctl reaches.
const servicesEnv = {};
try {
  for (const line of readFileSync(join(repo, 'test/.services.env'), 'utf8').split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) servicesEnv[line.slice(0, at)] = line.slice(at + 1);
  }
  console.error(`test/run: services from test/.services.env: ${JSON.stringify(servicesEnv)}`);
} catch {
  // the shared services answered
}
// Also the run's temporary directory (TMPDIR) for the tests and every process they start: what they leave
// there (cdk8s's output directories, kustomize's plugin configs, the results `asya dev --demo` keeps for its
// user, what a killed process could not remove) goes with the run instead of piling up in the system's.
const dir = mkdtempSync(join(tmpdir(), 'asya-vitest-'));
// Private brokers and databases run as their own users (Debian's rabbitmq-server and postgres drop to them),
// which must reach their directories inside this one.
chmodSync(dir, 0o711);
const countsFile = join(dir, 'counts.json');
// test/docs.test.ts writes which doc blocks ran and which are marked not runnable here; CI prints it.
const docBlocksFile = join(dir, 'doc-blocks.txt');
const run = spawnSync(
  process.execPath,
  [join(repo, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=minimal', `--reporter=${join(repo, 'test/runner/count-reporter.ts')}`, ...process.argv.slice(2)],
  { stdio: 'inherit', env: { ...servicesEnv, ...process.env, TMPDIR: dir, ASYA_TEST_COUNTS: countsFile, ASYA_DOC_BLOCKS_SUMMARY: docBlocksFile } },
);

let passed = 0;
let failed = 0;
let failures = [];
try {
  ({ passed, failed, failures = [] } = JSON.parse(readFileSync(countsFile, 'utf8')));
} catch {
  failed = 1;
  console.error(`test/run: vitest exited with ${run.status ?? run.signal} before reporting any counts`);
}
try {
  process.stdout.write(readFileSync(docBlocksFile, 'utf8'));
} catch {
  // the docs test did not run (a filtered run)
}
rmSync(dir, { recursive: true, force: true });
// vitest knows failures the counts cannot show (a coverage threshold, a crashed reporter).
if (run.status !== 0 && failed === 0) {
  failed = 1;
  console.error(`test/run: vitest exited with ${run.status ?? run.signal} although no test failed`);
}
// The reporter listed the failures already, but the doc-block list above may have pushed them out of a
// log's tail; CI shows only the tail.
if (failures.length > 0) console.log(`failed ${failures.length}:\n${failures.map((line) => `  × ${line}`).join('\n')}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
