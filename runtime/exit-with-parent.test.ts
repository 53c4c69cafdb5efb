/**
 * ASYA_PARENT_PIPE_FD (protocol/parent-pipe.ts): a runtime started with it exits once the process that started it
 * dies, even by SIGKILL; a runtime started without it (a pod, the original sidecar) keeps running as before.
 * The parent is a real process killed for real, both runtimes alike.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, expect, test } from 'vitest';
import { fixtureHandler, REPO_ROOT, runtimeCommand, type RuntimeKind } from '../test/support/runtime-process.ts';
import { descendants, killAll, processGone, stillRunningAfter } from '../test/support/process-tree.ts';

const PARENT = join(REPO_ROOT, 'test/support/exit-with-parent-parent.mjs');
const leftovers: number[] = [];
afterAll(() => killAll(leftovers));

/** Starts a parent that starts the runtime; answers once the runtime is ready, with both pids. */
async function runtimeUnderParent(kind: RuntimeKind, optIn: boolean, env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), `asya-exit-with-parent-${kind}-`));
  const log = join(dir, 'runtime.log');
  const parent = spawn(process.execPath, [PARENT, log, ...runtimeCommand(kind)], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      PYTHONPATH: join(REPO_ROOT, 'runtime/testdata/handlers'),
      ASYA_SOCKET_DIR: dir,
      ASYA_HANDLER: fixtureHandler(kind, 'echo'),
      ASYA_LOG_LEVEL: 'WARNING',
      ASYA_TEST_OPT_IN: optIn ? '1' : '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => parent.once('exit', resolve));
  const line = await new Promise<string>((resolve) => createInterface({ input: parent.stdout! }).once('line', resolve));
  const runtime = Number(line);
  leftovers.push(parent.pid!, runtime);
  const deadline = Date.now() + 30_000;
  while (!existsSync(join(dir, 'runtime-ready'))) {
    if (processGone(runtime) || Date.now() > deadline) throw new Error(`the ${kind} runtime did not get ready:\n${readFileSync(log, 'utf8')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    runtime,
    output: () => readFileSync(log, 'utf8'),
    async killParent() {
      parent.kill('SIGKILL');
      await exited;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

for (const kind of ['node', 'python'] as const) {
  test(`${kind}: started with the parent pipe, the runtime exits when its parent is SIGKILLed`, async () => {
    const run = await runtimeUnderParent(kind, true);
    try {
      await run.killParent();
      // A bound for a loaded machine, not a timing claim: the end of file arrives at once.
      expect(await stillRunningAfter([run.runtime], 20_000), run.output()).toEqual([]);
    } finally {
      killAll([run.runtime]);
      run.cleanup();
    }
  }, 60_000);

  test(`${kind}: started without it, the runtime outlives its parent as before`, async () => {
    const run = await runtimeUnderParent(kind, false);
    try {
      await run.killParent();
      // Long enough for the opted-in runtime above to have exited many times over.
      await new Promise((r) => setTimeout(r, 2000));
      expect(processGone(run.runtime), run.output()).toBe(false);
    } finally {
      killAll([run.runtime]);
      run.cleanup();
    }
  }, 60_000);
}

test('python with pre-forked workers: the pool and every worker exit when the parent is SIGKILLed, none restarted', async () => {
  const run = await runtimeUnderParent('python', true, { ASYA_RUNTIME_WORKERS: '2' });
  const all = [run.runtime, ...descendants(run.runtime)];
  try {
    expect(all, run.output()).toHaveLength(3);
    await run.killParent();
    expect(await stillRunningAfter(all, 20_000), run.output()).toEqual([]);
    expect(run.output()).not.toContain('restarting it');
  } finally {
    killAll(all);
    run.cleanup();
  }
}, 60_000);
