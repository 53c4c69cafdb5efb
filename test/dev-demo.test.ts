/** The README's first command: the demo pipeline through gateway, actors and crew, in one process. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { REPO_ROOT } from './support/runtime-process.ts';

test('asya dev examples/hello --demo: two calls succeed, the blank text fails at normalize', () => {
  const run = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/asya.js'), 'dev', 'examples/hello', '--demo'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(run.status, run.stderr).toBe(0);
  expect(run.stdout.match(/^→ analyze_text/gm)).toHaveLength(3);
  expect(run.stdout.match(/^✓ .* succeeded:/gm)).toHaveLength(2);
  expect(run.stdout).toContain('"verdict": "positive (score +2 over 7 words)"');
  expect(run.stdout).toContain('"verdict": "negative (score -2 over 6 words)"');
  expect(run.stdout).toMatch(/^✗ .* failed: .*normalize/m);
});
