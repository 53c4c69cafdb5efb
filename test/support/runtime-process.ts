/** Starts either runtime as a real child process on a private socket directory, for tests and benches. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { temporaryDir } from '../../cli/temp-dir.ts';

export type RuntimeKind = 'python' | 'node';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
const FIXTURES_DIR = join(REPO_ROOT, 'runtime/testdata/handlers');

export interface RuntimeProcess {
  readonly kind: RuntimeKind;
  readonly dir: string;
  readonly socketPath: string;
  readonly readyFile: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** `fixture` names a handler in runtime/testdata/handlers: `echo`, `Counter.process`, ... */
export function fixtureHandler(kind: RuntimeKind, fixture: string): string {
  return kind === 'python' ? `fixtures.${fixture}` : `${join(FIXTURES_DIR, 'fixtures.ts')}#${fixture}`;
}

export function runtimeCommand(kind: RuntimeKind, runtimeScript?: string): string[] {
  if (kind === 'python') return ['python3', runtimeScript ?? join(REPO_ROOT, 'runtime/python/asya_runtime.py')];
  return [process.execPath, join(REPO_ROOT, 'bin/asya.js'), 'runtime'];
}

export interface StartOptions {
  handler: string;
  env?: Record<string, string>;
  /** Run a different Python runtime file, e.g. the original's asya_runtime.py. */
  runtimeScript?: string;
  /** Run this command instead of either runtime (benchmarks' baselines). */
  command?: string[];
  dir?: string;
  waitReady?: boolean;
  /** The runtime's working directory. @default the repository */
  cwd?: string;
}

export async function startRuntime(kind: RuntimeKind, options: StartOptions): Promise<RuntimeProcess> {
  // A test that never stops its runtime leaves the directory to the next run's sweep (see temporaryDir).
  const ownDir = options.dir === undefined ? temporaryDir(`asya-rt-${kind}-`) : undefined;
  const dir = options.dir ?? ownDir!.path;
  const [cmd, ...args] = options.command ?? runtimeCommand(kind, options.runtimeScript);
  const child = spawn(cmd!, args, {
    cwd: options.cwd ?? REPO_ROOT,
    env: {
      ...process.env,
      PYTHONPATH: FIXTURES_DIR,
      PYTHONUNBUFFERED: '1',
      ASYA_SOCKET_DIR: dir,
      ASYA_HANDLER: options.handler,
      ASYA_LOG_LEVEL: 'WARNING',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  // 'close', not 'exit': exit can come before the last output is read from the pipes, and tests read output() after.
  const exited = new Promise<number | null>((res) => child.once('close', (code) => res(code)));
  const socketPath = join(dir, options.env?.ASYA_SOCKET_NAME ?? 'asya-runtime.sock');
  const readyFile = join(dir, 'runtime-ready');
  const proc: RuntimeProcess = {
    kind,
    dir,
    socketPath,
    readyFile,
    child,
    exited,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const code = await exited;
      ownDir?.remove();
      return code;
    },
  };
  if (options.waitReady !== false) await waitForReady(proc);
  return proc;
}

async function waitForReady(proc: RuntimeProcess, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void proc.exited.then((c) => (exitCode = c));
  while (Date.now() < deadline) {
    if (existsSync(proc.readyFile) && existsSync(proc.socketPath)) return;
    if (exitCode !== undefined) throw new Error(`${proc.kind} runtime exited with ${exitCode} before ready:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${proc.kind} runtime not ready after ${timeoutMs} ms:\n${proc.output()}`);
}
