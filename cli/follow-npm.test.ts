/**
 * Which ancestor asya follows. A stand-in for npm (a node process titled as npm titles itself) starts a
 * probe through `sh -c`, as npm does; the probe prints what npmAncestor() finds. Then that noticing a stop
 * signal changes nothing a signal does. The whole stop under a real npx is in test/first-contact-dev.test.ts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, test } from 'vitest';

const followNpm = join(import.meta.dirname, 'follow-npm.ts');
const probe = `import(${JSON.stringify(followNpm)}).then((m) => console.log(JSON.stringify({ found: m.npmAncestor()?.pid ?? null, parent: process.ppid })))`;

/** Runs `title` (a node process) -> sh -c -> ...shells -> the probe; answers the probe's line and the stand-in's pid. */
function run(title: string, shells: number): { found: number | null; standIn: number } {
  let command = `${JSON.stringify(process.execPath)} --import tsx -e ${shellQuote(probe)}`;
  for (let i = 1; i < shells; i++) command = `sh -c ${shellQuote(`${command}; true`)}`;
  const standIn = `process.title = ${JSON.stringify(title)}; const { spawnSync } = require('node:child_process'); const r = spawnSync('sh', ['-c', ${JSON.stringify(command)}], { stdio: ['ignore', 'pipe', 'inherit'] }); console.log(JSON.stringify({ standIn: process.pid, probe: JSON.parse(r.stdout.toString()) }));`;
  const out = spawnSync(process.execPath, ['-e', standIn], { encoding: 'utf8', cwd: join(import.meta.dirname, '..') });
  expect(out.status, out.stderr).toBe(0);
  const parsed = JSON.parse(out.stdout) as { standIn: number; probe: { found: number | null } };
  return { found: parsed.probe.found, standIn: parsed.standIn };
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

test.skipIf(process.platform !== 'linux')("npm's own sh -c, or a script's shells within it, lead to npm", () => {
  for (const shells of [1, 2]) {
    const { found, standIn } = run('npm exec asya dev .', shells);
    expect(found).toBe(standIn);
  }
  const { found, standIn } = run('npm run dev', 1);
  expect(found).toBe(standIn);
});

test.skipIf(process.platform !== 'linux')('a process whose nearest ancestor that is not a shell is something else is not followed (a runtime under asya dev)', () => {
  expect(run('asya dev .', 1).found).toBeNull();
  expect(run('node', 1).found).toBeNull();
});

/** A child that calls noticeStopSignals(), then `setup`; it prints "ready", and stays up until a signal ends it. */
function noticing(setup: string) {
  const code = `import(${JSON.stringify(followNpm)}).then((m) => { const seen = m.noticeStopSignals(); ${setup}; setInterval(() => {}, 1000); console.log('ready'); })`;
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', code], { cwd: join(import.meta.dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  const printed = async (text: string) => {
    while (!output.includes(text)) await new Promise((r) => setTimeout(r, 20));
  };
  return { child, exited, printed, output: () => output };
}

test('noticing SIGINT and SIGTERM leaves what they do as it was', async () => {
  // No handler of its own: the signal still ends the process.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const bare = noticing('');
    await bare.printed('ready');
    bare.child.kill(signal);
    expect(await bare.exited).toBe(signal);
  }
  // A handler of its own runs, and is told the signal came; once it is gone, the next signal ends the process.
  const handled = noticing("process.once('SIGTERM', () => console.log('handled, seen ' + seen()))");
  await handled.printed('ready');
  handled.child.kill('SIGTERM');
  await handled.printed('handled, seen true');
  expect(handled.child.exitCode).toBeNull();
  handled.child.kill('SIGTERM');
  expect(await handled.exited).toBe('SIGTERM');
});
