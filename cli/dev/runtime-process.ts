/**
 * One actor's runtime as a child process of `asya dev`. Unlike the sidecar's own child supervisor it reads
 * the runtime's output (so a handler that cannot load becomes one clear error instead of a traceback in the
 * middle of the table), reloads gracefully after an edit, and puts the runtime in a process group of its
 * own: Ctrl-C in the terminal then reaches only `asya dev`, which needs the runtimes to finish the work it
 * drains.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { RuntimeSupervisor } from '../../sidecar/router.ts';
import { waitForRuntime, type RuntimePaths } from '../../sidecar/supervisor.ts';
import { errorText } from '../../protocol/errors.ts';
import { parseJsonObject } from './status-board.ts';
import { holdParentPipe, parentPipeSpawn } from '../../protocol/parent-pipe.ts';

/** The runtime exited before it was ready: almost always a handler that does not import. */
export class RuntimeStartError extends Error {
  override readonly name = 'RuntimeStartError';
}

export interface DevRuntimeOptions {
  command: string[];
  env: Record<string, string | undefined>;
  cwd: string;
  paths: RuntimePaths;
  readyTimeoutMs: number;
  /** Each line the runtime prints, stdout and stderr alike. */
  output: (line: string) => void;
  /** The runtime died after it was ready (not at our request). */
  onUnexpectedExit: (code: number | null, signal: NodeJS.Signals | null) => void;
}

export interface DevRuntime extends RuntimeSupervisor {
  /** Starts the runtime and waits until it serves; rejects with RuntimeStartError when it dies first. */
  start(): Promise<void>;
  /** Lets the running handler finish (SIGTERM), then starts the runtime again with the current code. */
  reload(): Promise<void>;
  stop(): Promise<void>;
  readonly running: boolean;
}

/** Every runtime any dev runtime started, killed if `asya dev` exits without stopping them. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export function devRuntime(options: DevRuntimeOptions): DevRuntime {
  let child: ChildProcess | undefined;
  const expectedExits = new WeakSet<ChildProcess>();

  const spawnAndWait = async () => {
    const started = Date.now();
    const [cmd, ...args] = options.command;
    // The exit handler below cannot run when dev mode is SIGKILLed or crashes; the pipe tells the runtime then.
    const { stdio, env } = parentPipeSpawn(['ignore', 'pipe', 'pipe'], options.env);
    const proc = spawn(cmd!, args, { env, cwd: options.cwd, stdio, detached: true });
    holdParentPipe(proc.stdio[3]);
    child = proc;
    live.add(proc);
    // Until the runtime is ready its output is held back: if it fails, the error made from it says it once.
    const lines: string[] = [];
    let ready = false;
    for (const stream of [proc.stdout!, proc.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        if (ready) return options.output(line);
        lines.push(line);
        if (lines.length > 50) lines.shift();
      });
    }
    const gone = new AbortController();
    const exited = new Promise<void>((resolve) =>
      proc.once('exit', (code, signal) => {
        live.delete(proc);
        if (!ready) {
          // Let the last lines of output arrive before the error is built from them.
          setTimeout(() => gone.abort(new RuntimeStartError(startFailure(lines, code, signal))), 50);
        } else if (!expectedExits.has(proc)) options.onUnexpectedExit(code, signal);
        resolve();
      }),
    );
    exitPromises.set(proc, exited);
    try {
      await waitForRuntime(options.paths, options.readyTimeoutMs, { newerThanMs: started - 1, signal: gone.signal });
    } catch (err) {
      // Not ready in time: a runtime that hangs while loading is as unusable as one that died.
      await kill('SIGKILL');
      throw err instanceof RuntimeStartError ? err : new RuntimeStartError(errorText(err));
    }
    ready = true;
    for (const line of lines.splice(0)) options.output(line);
  };

  const exitPromises = new WeakMap<ChildProcess, Promise<void>>();
  const kill = async (signal: NodeJS.Signals) => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    expectedExits.add(proc);
    proc.kill(signal);
    await exitPromises.get(proc);
  };

  return {
    get running() {
      return !!child && child.exitCode === null && child.signalCode === null;
    },
    start: spawnAndWait,
    async reload() {
      await kill('SIGTERM');
      await spawnAndWait();
    },
    // The sidecar asks for this when a handler hangs past its timeout: no waiting for it.
    async restart() {
      await kill('SIGKILL');
      await spawnAndWait().catch(() => {});
    },
    async stop() {
      await kill('SIGTERM');
    },
  };
}

/**
 * Both runtimes say why they could not start in one `FATAL: ...` line (its message, when they log JSON);
 * otherwise the last line says most.
 */
function startFailure(output: string[], code: number | null, signal: NodeJS.Signals | null): string {
  const lines = output.map((line) => {
    const message = parseJsonObject(line)?.message;
    return typeof message === 'string' ? message : line;
  });
  const fatal = lines.find((l) => l.includes('FATAL'));
  const reason = fatal ? fatal.slice(fatal.indexOf('FATAL')).replace(/^FATAL:\s*/, '') : lines.filter((l) => l.trim()).at(-1);
  return reason ?? `the runtime exited (${signal ?? `code ${code}`}) before it was ready, without saying why`;
}
