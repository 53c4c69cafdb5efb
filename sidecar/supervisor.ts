/**
 * Waiting for the runtime, and restarting it when a handler hangs past its timeout.
 *
 * In Kubernetes the sidecar cannot kill another container, so it touches a marker file in the shared socket
 * directory. The runtime container's liveness probe fails while the marker is newer than the ready file;
 * kubelet restarts the runtime, the new runtime writes a fresh ready file, and the probe passes again. This
 * works with the original Python runtime too, because every runtime writes the ready file on start.
 * In dev mode the sidecar owns the runtime process and simply kills and respawns it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { Logger } from '../protocol/index.ts';
import { holdParentPipe, parentPipeSpawn } from '../protocol/parent-pipe.ts';
import type { RuntimeSupervisor } from './router.ts';

export { LIVENESS_PROBE_SCRIPT } from '../protocol/index.ts';

export interface RuntimePaths {
  socketPath: string;
  readyFile: string;
}

function mtimeMs(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

function canConnect(socketPath: string, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Resolves once the ready file exists (newer than `newerThanMs` if given) and the socket accepts a
 * connection; rejects after timeoutMs. The probe connection sends nothing, which runtimes treat as a
 * client that went away.
 */
export async function waitForRuntime(paths: RuntimePaths, timeoutMs: number, options: { newerThanMs?: number; signal?: AbortSignal } = {}): Promise<void> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  for (;;) {
    if (options.signal?.aborted) throw options.signal.reason instanceof Error ? options.signal.reason : new Error('stopped while waiting for the runtime');
    const ready = mtimeMs(paths.readyFile);
    if (ready !== undefined && (options.newerThanMs === undefined || ready > options.newerThanMs) && (await canConnect(paths.socketPath))) return;
    if (Date.now() >= deadline) {
      throw new Error(`Runtime not ready after ${timeoutMs} ms: expected ready file ${paths.readyFile} and a listening socket ${paths.socketPath}`);
    }
    // A pod starts both containers together and a runtime is up within a few hundred ms: look often at first,
    // since every ms between its ready file and our first look is scale-from-zero latency; then every 100 ms.
    await new Promise((r) => setTimeout(r, Date.now() - started < 2000 ? 10 : 100));
  }
}

export function markerFileSupervisor(paths: RuntimePaths & { restartMarker: string }, readyTimeoutMs: number, log: Logger): RuntimeSupervisor {
  return {
    async restart(reason) {
      writeFileSync(paths.restartMarker, `${new Date().toISOString()} ${reason}\n`);
      // The marker's time is the kernel's, like the ready file's: file times come from a coarse clock that can
      // lag Date.now() by a tick, so a JS time on the marker could be later than a ready file written after it.
      const marked = mtimeMs(paths.restartMarker) ?? Date.now();
      log.warn(`Requested a runtime restart through ${paths.restartMarker}; waiting for a fresh runtime`);
      // Fresh means not older than the marker, as the liveness probe reads it (`! test marker -nt ready`).
      await waitForRuntime(paths, readyTimeoutMs, { newerThanMs: marked - 1e-3 }).catch((err: Error) => log.error(err.message));
    },
  };
}

export interface SpawnedRuntime extends RuntimeSupervisor {
  readonly child: ChildProcess | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Dev mode: the sidecar runs the runtime as its own child process. */
export interface ChildRuntimeOptions {
  command: string[];
  env: Record<string, string | undefined>;
  cwd?: string;
  paths: RuntimePaths;
  readyTimeoutMs: number;
  log: Logger;
  /** Receives the runtime's stdout and stderr; without it the runtime shares this process's. */
  output?: (chunk: Buffer) => void;
  /** The runtime exits when this process dies, however it dies (ASYA_PARENT_PIPE_FD; `asya dev` opts in). */
  exitWithParent?: boolean;
}

export function childProcessSupervisor({ command, env, cwd, paths, readyTimeoutMs, log, output, exitWithParent }: ChildRuntimeOptions): SpawnedRuntime {
  let child: ChildProcess | undefined;
  let stopping = false;
  const spawnChild = async () => {
    const started = Date.now();
    const [cmd, ...args] = command;
    const stream = output ? 'pipe' : 'inherit';
    const proc = spawn(cmd!, args, { ...parentPipeSpawn(['ignore', stream, stream], env, exitWithParent), cwd });
    holdParentPipe(proc.stdio[3]);
    if (output) for (const piped of [proc.stdout!, proc.stderr!]) piped.on('data', output);
    child = proc;
    const gone = new AbortController();
    proc.once('exit', (code, signal) => {
      gone.abort(new Error(`runtime exited (code ${code}, signal ${signal}) before it was ready`));
      if (!stopping && child === proc) log.warn(`Runtime exited (code ${code}, signal ${signal})`);
    });
    await waitForRuntime(paths, readyTimeoutMs, { newerThanMs: started - 1, signal: gone.signal });
  };
  const kill = async (signal: NodeJS.Signals) => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill(signal);
    await exited;
  };
  return {
    get child() {
      return child;
    },
    start: spawnChild,
    async restart(reason) {
      log.warn(`Restarting the runtime: ${reason}`);
      await kill('SIGKILL');
      await spawnChild().catch((err: Error) => log.error(err.message));
    },
    async stop() {
      stopping = true;
      await kill('SIGTERM');
    },
  };
}
