/** Runs the Python runtime's own pytest suite, so the project's single test command covers it. */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { expect, test } from 'vitest';

const REPO_ROOT = resolve(import.meta.dirname, '../..');

function runPytest(): Promise<{ code: number | null; output: string }> {
  return new Promise((done, fail) => {
    const child = spawn('python3', ['-m', 'pytest', 'runtime/python/tests', '-q', '-p', 'no:cacheprovider'], {
      cwd: REPO_ROOT,
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', fail);
    child.once('close', (code) => done({ code, output }));
  });
}

test('python runtime: pytest suite passes', { timeout: 300_000 }, async () => {
  const { code, output } = await runPytest();
  if (code !== 0) console.error(output);
  expect(code, output.split('\n').slice(-40).join('\n')).toBe(0);
});
