/**
 * On a terminal (a real pseudo-terminal from python3's pty module): asya dev redraws its table in place
 * instead of printing it again and again, and asya call draws a progress bar in place.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { ASYA_BIN, copyExample } from './support/dev-process.ts';
import { toTestOutput } from './support/test-output.ts';

const PTY_RUN = join(import.meta.dirname, 'support/pty_run.py');
const REDRAW = '\\x1b\\[\\d+F\\x1b\\[J';
const example = copyExample('hello');
afterAll(() => example.cleanup());

function onTerminal(args: string[], options: { cwd: string; interruptAfter?: [string, number] }): Promise<{ code: number | null; output: string }> {
  const interrupt = options.interruptAfter ? ['--interrupt-after', options.interruptAfter[0], String(options.interruptAfter[1])] : [];
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [PTY_RUN, ...interrupt, '--', process.execPath, ASYA_BIN, ...args], { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', toTestOutput);
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

test('asya dev on a terminal keeps one table, redrawn in place, and asya call draws a bar', async () => {
  const dev = spawn(process.execPath, [ASYA_BIN, 'dev', '.', '--port', '0', '--no-table', '--data-dir', join(example.dir, '.other')], { cwd: example.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  // A plain (non-terminal) dev stack to call, so the terminal run below has work to show.
  const url = await new Promise<string>((resolve, reject) => {
    let text = '';
    dev.stderr.on('data', (c: Buffer) => {
      text += c.toString('utf8');
      const m = text.match(/gateway (http:\/\/127\.0\.0\.1:\d+)/);
      if (m && text.includes("ready: try 'asya tools'")) resolve(m[1]!);
    });
    dev.once('exit', () => reject(new Error(text)));
  });
  try {
    const call = await onTerminal(['call', 'analyze_text', '--text', 'good and fast', '--gateway', url], { cwd: example.dir });
    expect(call.code, call.output).toBe(0);
    expect(call.output).toMatch(/\r\x1b\[2Kanalyze_text ▕█+░*▏ +\d+% /);
    expect(call.output).toContain('"verdict": "positive (score +2 over 3 words)"');
  } finally {
    const exited = new Promise((r) => dev.once('exit', r));
    dev.kill('SIGINT');
    await exited;
  }

  const run = await onTerminal(['dev', '.', '--port', '0', '--data-dir', join(example.dir, '.store')], { cwd: example.dir, interruptAfter: [REDRAW, 3] });
  expect(run.code, run.output).toBe(0);
  // Redrawn in place: the escape that moves back over the previous table comes right before the next one...
  expect((run.output.match(new RegExp(`${REDRAW}ACTOR +STATE`, 'g')) ?? []).length).toBeGreaterThanOrEqual(2);
  // ...and between two such escapes there is never more than one table: it is never printed twice.
  for (const segment of run.output.split(new RegExp(REDRAW))) expect((segment.match(/ACTOR +STATE +QUEUED/g) ?? []).length).toBeLessThanOrEqual(1);
  expect(run.output).toMatch(/^normalize +up /m);
  expect(run.output).toContain('drained: every accepted call finished; stopped');
}, 240_000);
