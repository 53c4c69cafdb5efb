/**
 * `asya dev` as a new user meets it: in a fresh directory of their own, outside the repository, with none
 * of the state the repository's own tests find ready (no .asya/, no --data-dir, no package.json).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { ASYA_BIN, asya, startDev, type DevProcess } from './support/dev-process.ts';
import { killAll, stillRunningAfter } from './support/process-tree.ts';
import { REPO_ROOT } from './support/runtime-process.ts';
import { actorManifest, greetProject, type Project } from './support/new-project.ts';

/** What asya made in a TMPDIR (tsx keeps its compile cache there too, on purpose). */
const ours = (tmp: string) => readdirSync(tmp).filter((e) => e.startsWith('asya-'));
/** A greet handler that holds each call until the file `gate` exists, so a test has a call in flight. */
const gatedGreet = (gate: string) => `import os, time\n\ndef process(payload):\n    while not os.path.exists(${JSON.stringify(gate)}):\n        time.sleep(0.05)\n    return payload\n`;

let project: Project | undefined;
const devs: DevProcess[] = [];
const dirs: string[] = [];
/** asya processes a launcher started, which stopping the launcher may not stop. */
const pids: number[] = [];

afterEach(async () => {
  for (const dev of devs.splice(0)) await dev.stop('SIGKILL');
  killAll(pids.splice(0));
  project?.cleanup();
  project = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}, 120_000);

test('asya dev in a new directory creates its store under .asya/ and serves a call; a second dev on that store stops with a clear error', async () => {
  project = greetProject();
  expect(existsSync(join(project.dir, '.asya'))).toBe(false);
  const dev = await startDev(project.dir, ['--no-table']);
  devs.push(dev);
  expect(existsSync(join(project.dir, '.asya', 'gateway'))).toBe(true);
  const call = await asya(['call', 'greet', '--name', 'Ada', '--gateway', dev.url], {}, project.dir);
  expect(call.status, call.stderr).toBe(0);
  expect(JSON.parse(call.stdout)).toEqual({ greeting: 'hello Ada' });

  const second = await asya(['dev', project.dir, '--port', '0', '--no-table'], {}, project.dir);
  expect(second.status).toBe(2);
  expect(second.stderr).toContain(`the store ${join(project.dir, '.asya', 'gateway')} is in use by another asya dev (pid ${dev.child.pid})`);
  // The first one never noticed.
  const again = await asya(['call', 'greet', '--name', 'Bob', '--gateway', dev.url], {}, project.dir);
  expect(JSON.parse(again.stdout)).toEqual({ greeting: 'hello Bob' });

  // Its lock goes with it: the next dev on the same store starts.
  expect(await dev.stop()).toBe(0);
  const next = await startDev(project.dir, ['--no-table']);
  devs.push(next);
  expect(next.url).toMatch(/^http:/);
}, 240_000);

test('a lock and the temporary directories left by a dev that was killed (-9) do not outlive the next one\'s start', async () => {
  project = greetProject();
  const tmp = mkdtempSync(join(tmpdir(), 'asya-tmp-'));
  dirs.push(tmp);
  const dev = await startDev(project.dir, ['--no-table'], { TMPDIR: tmp });
  expect(existsSync(join(project.dir, '.asya', 'gateway.lock'))).toBe(true);
  const killedDirs = ours(tmp);
  const [killedDir] = killedDirs.filter((e) => e.startsWith('asya-dev-'));
  expect(killedDir).toBeDefined();
  expect(await dev.stop('SIGKILL')).toBe(null);
  // SIGKILL runs no exit hook: the directory stays until the next dev starts.
  expect(ours(tmp)).toContain(killedDir);
  const next = await startDev(project.dir, ['--no-table'], { TMPDIR: tmp });
  devs.push(next);
  expect(ours(tmp).filter((e) => killedDirs.includes(e))).toEqual([]);
  expect(ours(tmp).filter((e) => e.startsWith('asya-dev-'))).toHaveLength(1);
  const call = await asya(['call', 'greet', '--name', 'Ada', '--gateway', next.url], {}, project.dir);
  expect(JSON.parse(call.stdout), call.stderr).toEqual({ greeting: 'hello Ada' });
}, 240_000);

// npx runs asya through `sh -c`, and the shell neither passes a signal on nor ends when npm is killed outright.
const NPX = ['npx', '--yes', '-p', REPO_ROOT, 'asya'];
const lockedBy = (dir: string) => Number.parseInt(readFileSync(join(dir, '.asya', 'gateway.lock'), 'utf8'), 10);

test.each(['SIGTERM', 'SIGKILL'] as const)('asya dev started by npx stops, drained, when npx gets %s, instead of running on without it', async (signal) => {
  project = greetProject();
  const dev = await startDev(project.dir, ['--no-table'], {}, { launcher: NPX });
  devs.push(dev);
  const asyaPid = lockedBy(project.dir);
  pids.push(asyaPid);
  expect(asyaPid).not.toBe(dev.child.pid);
  dev.child.kill(signal);
  await dev.exited;
  expect(await stillRunningAfter([asyaPid], 60_000), dev.output()).toEqual([]);
  expect(dev.output()).toContain(`npm (pid ${dev.child.pid}), which started this asya, has ended: stopping as on SIGTERM`);
  expect(dev.output()).toContain('drained: every accepted call finished; stopped');
  expect(existsSync(join(project.dir, '.asya', 'gateway.lock'))).toBe(false);
}, 240_000);

test('Ctrl-C on npx asya dev drains the calls in flight, even if npm ends during the drain', async () => {
  project = greetProject();
  const gate = join(project.dir, 'gate');
  project.write('greet.py', gatedGreet(gate));
  const dev = await startDev(project.dir, ['--no-table'], {}, { launcher: NPX, processGroup: true });
  devs.push(dev);
  const asyaPid = lockedBy(project.dir);
  pids.push(asyaPid);
  const call = await asya(['call', 'greet', '--name', 'Ada', '--no-wait', '--gateway', dev.url], {}, project.dir);
  expect(call.status, call.stderr).toBe(0);
  dev.interruptGroup();
  await dev.waitFor(/SIGINT: draining: letting every queued call finish/);
  // npm and its shell wait for asya here; one that did not would be gone now. Asya has had its signal: a
  // SIGTERM for npm's end would be a second one, which ends the drain at once and drops the call.
  dev.child.kill('SIGKILL');
  await dev.exited;
  await new Promise((r) => setTimeout(r, 3000));
  writeFileSync(gate, '');
  expect(await stillRunningAfter([asyaPid], 60_000), dev.output()).toEqual([]);
  expect(dev.output()).toContain('drained: every accepted call finished; stopped');
  expect(dev.output()).not.toContain('has ended: stopping as on SIGTERM');
}, 240_000);

test('a double Ctrl-C during the drain leaves no temporary directory behind', async () => {
  project = greetProject();
  // The gate holds the one call in flight, so the first Ctrl-C has something to drain.
  const gate = join(project.dir, 'gate');
  project.write('greet.py', gatedGreet(gate));
  const tmp = mkdtempSync(join(tmpdir(), 'asya-tmp-'));
  dirs.push(tmp);
  const dev = await startDev(project.dir, ['--no-table'], { TMPDIR: tmp });
  devs.push(dev);
  // While it runs, dev mode has its working directory (runtime sockets) in TMPDIR.
  expect(ours(tmp).filter((e) => e.startsWith('asya-dev-'))).toHaveLength(1);
  const call = await asya(['call', 'greet', '--name', 'Ada', '--no-wait', '--gateway', dev.url], {}, project.dir);
  expect(call.status, call.stderr).toBe(0);
  dev.child.kill('SIGINT');
  await dev.waitFor(/draining: letting every queued call finish/);
  dev.child.kill('SIGINT');
  expect(await dev.exited).toBe(130);
  expect(ours(tmp)).toEqual([]);
  expect(existsSync(join(project.dir, '.asya', 'gateway.lock'))).toBe(false);
}, 240_000);

test('asya dev --demo interrupted twice leaves no temporary directory behind either', async () => {
  project = greetProject();
  const gate = join(project.dir, 'gate');
  project.write('greet.py', gatedGreet(gate));
  project.write('demo.yaml', `- tool: greet\n  arguments: {name: Ada}\n  expect: succeeded\n`);
  const tmp = mkdtempSync(join(tmpdir(), 'asya-tmp-'));
  dirs.push(tmp);
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [ASYA_BIN, 'dev', project.dir, '--demo', '--no-table'], { cwd: project.dir, env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const waiters = new Set<() => void>();
  const until = (ok: () => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => ok() && (waiters.delete(check), resolve());
      waiters.add(check);
      check();
    });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/gateway http/.test(output)) resolve();
      for (const w of waiters) w();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then(() => reject(new Error(`exited early:\n${output}`)));
  });
  expect(ours(tmp).some((e) => e.startsWith('asya-results-'))).toBe(true);
  await until(() => /\[1\]\s+50% Processing in greet/.test(output));
  child.kill('SIGINT');
  // Two signals sent back to back merge into one: the second goes once the first was seen.
  await until(() => /SIGINT: stopping the demo/.test(output));
  child.kill('SIGINT');
  expect(await exited, output).toBe(130);
  expect(ours(tmp)).toEqual([]);
}, 240_000);

test("asya dev logs a TypeScript handler's failure as it logs a Python one, with the file's own location in the trace", async () => {
  project = greetProject();
  project.write('pyboom.py', 'def process(payload):\n    raise ValueError("python says no")\n');
  project.write('pyboom.yaml', actorManifest('pyboom', 'pyboom.process', '\n  retry:\n    maxAttempts: 1'));
  project.write('tsboom.ts', 'export async function process(payload: unknown) {\n  throw new RangeError("typescript says no");\n}\n');
  project.write('tsboom.yaml', actorManifest('tsboom', 'tsboom.ts#process', '\n  retry:\n    maxAttempts: 1'));
  project.write('tools.yaml', 'tools:\n- name: py\n  route: [pyboom]\n- name: ts\n  route: [tsboom]\n');
  const dev = await startDev(project.dir, ['--no-table']);
  devs.push(dev);
  for (const tool of ['py', 'ts']) {
    const run = await asya(['call', tool, '--gateway', dev.url], {}, project.dir);
    expect(run.status).toBe(1);
  }
  await dev.waitFor(/\[pyboom\].*Handler failed: ValueError: python says no/);
  await dev.waitFor(/\[tsboom\].*Handler failed: RangeError: typescript says no/);
  const status = await asya(['call', 'ts', '--json', '--gateway', dev.url], {}, project.dir);
  const traceback = (JSON.parse(status.stdout) as { result: { details: { traceback: string } } }).result.details.traceback;
  expect(traceback).toContain(`${project.dir}/tsboom.ts:2:`);
}, 240_000);

test('a new or changed package.json or tsconfig.json restarts the TypeScript actors (not the Python ones)', async () => {
  project = greetProject();
  project.write('handlers/shout.ts', 'export async function process(payload: { name: string }) {\n  return { shout: payload.name.toUpperCase() };\n}\n');
  project.write('shout.yaml', actorManifest('shout', 'handlers/shout.ts#process'));
  const dev = await startDev(project.dir, ['--no-table']);
  devs.push(dev);
  project.write('package.json', '{"type": "module"}\n');
  await dev.waitFor(/actor shout: handler changed; runtime restarted/);
  project.write('handlers/tsconfig.json', '{"compilerOptions": {"strict": true}}\n');
  await dev.waitFor(/actor shout: handler changed; runtime restarted[\s\S]*actor shout: handler changed; runtime restarted/);
  // The Python actor had the same chance to restart and did not.
  expect(dev.output()).not.toContain('actor greet: handler changed');
}, 240_000);
