/**
 * Which ancestor asya follows. A stand-in for npm (a node process titled as npm titles itself) starts a
 * probe through `sh -c`, as npm does; the probe prints what npmAncestor() finds. The whole stop under a real
 * npx is in test/first-contact-dev.test.ts.
 */
import { spawnSync } from 'node:child_process';
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
