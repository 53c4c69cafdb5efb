/** The README's first command: the demo pipeline through MCP, gateway, actors and crew, in one process. */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { ASYA_BIN, copyExample } from './support/dev-process.ts';
import { REPO_ROOT } from './support/runtime-process.ts';

function demo(dir: string) {
  return spawnSync(process.execPath, [ASYA_BIN, 'dev', dir, '--demo'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
}

test('asya dev examples/hello --demo: two calls succeed, the blank text fails at normalize, with progress', () => {
  const run = demo('examples/hello');
  expect(run.status, run.stderr).toBe(0);
  expect(run.stdout.match(/^→ analyze_text/gm)).toHaveLength(3);
  expect(run.stdout.match(/^✓ .* succeeded:/gm)).toHaveLength(2);
  expect(run.stdout).toContain('"verdict": "positive (score +2 over 7 words)"');
  expect(run.stdout).toContain('"verdict": "negative (score -2 over 6 words)"');
  expect(run.stdout).toMatch(/^✗ .* failed: .*normalize/m);
  // Progress came as MCP notifications/progress, per call.
  expect(run.stdout).toMatch(/^ {2}\[1\] +\d+% /m);
  expect(run.stdout).toMatch(/^ {2}\[2\] 100% /m);
  expect(run.stdout).toContain('3 of 3 demo calls ended as expected');
  // Not a terminal: no live table while it runs, one summary at the end.
  expect(run.stderr.match(/^ACTOR +STATE/gm)).toHaveLength(1);
}, 240_000);

test('a demo call that does not end as demo.yaml expects makes the demo exit 1', () => {
  const example = copyExample('hello');
  try {
    writeFileSync(
      join(example.dir, 'demo.yaml'),
      `- tool: analyze_text
  arguments: {text: "great"}
  expect: {status: succeeded, error: positive}
- tool: analyze_text
  arguments: {text: "  "}
  expect: {status: failed, error: must be a non-empty string}
- tool: analyze_text
  arguments: {text: "fine"}
  expect: failed
`,
    );
    const run = demo(example.dir);
    expect(run.status, run.stderr).toBe(1);
    expect(run.stdout).toMatch(/^✗ \[3\] analyze_text did not end as demo.yaml expects: expected failed, got succeeded$/m);
    expect(run.stdout).toContain('2 of 3 demo calls ended as expected');
  } finally {
    example.cleanup();
  }
}, 240_000);
