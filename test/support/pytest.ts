/**
 * Runs a pytest suite while a vitest file is collected and registers one vitest test per pytest test, so
 * the closing count of test/run.mjs counts pytest's tests one by one, with their skip reasons and failures.
 * Use it with top-level await: `await pytestSuite('runtime/python/tests')`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'vitest';
import { REPO_ROOT } from './runtime-process.ts';

interface PytestOutcome {
  nodeid: string;
  outcome: 'passed' | 'failed' | 'skipped';
  reason: string;
  detail: string;
}

interface PytestRun {
  code: number | null;
  output: string;
  outcomes: PytestOutcome[];
}

function runPytest(path: string): Promise<PytestRun> {
  const dir = mkdtempSync(join(tmpdir(), 'asya-pytest-'));
  const report = join(dir, 'report.jsonl');
  return new Promise<PytestRun>((done, fail) => {
    const child = spawn('python3', ['-m', 'pytest', path, '-q', '-p', 'no:cacheprovider', '-p', 'pytest_report'], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        PYTHONDONTWRITEBYTECODE: '1',
        PYTHONPATH: [import.meta.dirname, process.env.PYTHONPATH].filter(Boolean).join(':'),
        ASYA_PYTEST_REPORT: report,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', fail);
    child.once('close', (code) => {
      let text = '';
      try {
        text = readFileSync(report, 'utf8');
      } catch {
        // No report: pytest did not get as far as finishing its session; the exit code and output tell why.
      }
      rmSync(dir, { recursive: true, force: true });
      const outcomes = text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as PytestOutcome);
      done({ code, output, outcomes });
    });
  });
}

const tail = (output: string) => output.trimEnd().split('\n').slice(-40).join('\n');

export async function pytestSuite(path: string): Promise<void> {
  const run = await runPytest(path);
  describe('pytest', () => {
    for (const { nodeid, outcome, reason, detail } of run.outcomes) {
      test(nodeid, (ctx) => {
        if (outcome === 'skipped') ctx.skip(`pytest: ${reason}`);
        if (outcome === 'failed') throw new Error(`pytest: ${reason}\n\n${detail}`);
      });
    }
    // pytest's exit code has the last word: an error outside any test (usage, an internal error, nothing
    // collected) must fail the run even though no test above failed.
    const failedAny = run.outcomes.some((o) => o.outcome === 'failed');
    if (run.code !== 0 && !failedAny) {
      test('pytest exits 0', () => {
        throw new Error(`pytest ${path} exited with ${run.code} without a failed test:\n${tail(run.output)}`);
      });
    }
  });
}
