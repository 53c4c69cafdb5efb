/**
 * `asya dev` as a user runs it: a real child process of bin/asya.js, its output collected, its gateway URL
 * read from what it prints. Also copies an example into a temp directory so a test can edit its handlers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './runtime-process.ts';

export const ASYA_BIN = join(REPO_ROOT, 'bin/asya.js');

export interface DevProcess {
  readonly child: ChildProcess;
  /** The gateway URL dev mode printed. */
  readonly url: string;
  /** stdout and stderr so far, interleaved as they came. */
  output(): string;
  /** Resolves with the first match once the output shows `pattern`; rejects after timeoutMs. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  readonly exited: Promise<number | null>;
  /** Sends the signal (default SIGINT) and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** SIGINT to dev mode's whole process group, as Ctrl-C in its terminal (needs `processGroup`). */
  interruptGroup(): void;
}

/**
 * With `processGroup`, dev mode leads a process group of its own, and `interruptGroup()` signals all of it,
 * as Ctrl-C in a terminal does (the runtimes and the crew get the SIGINT too, not only asya dev).
 */
export async function startDev(
  dir: string,
  args: string[] = [],
  env: Record<string, string> = {},
  cwdOrOptions: string | { cwd?: string; processGroup?: boolean; launcher?: string[] } = {},
): Promise<DevProcess> {
  // A plain string is the working directory (.asya/ lands there); the default is the example's directory.
  const options = typeof cwdOrOptions === 'string' ? { cwd: cwdOrOptions } : cwdOrOptions;
  // `launcher` runs asya some other way (npx): `child` is then the launcher, not asya itself.
  const [command, ...launch] = options.launcher ?? [process.execPath, ASYA_BIN];
  const child = spawn(command!, [...launch, 'dev', dir, '--port', '0', ...args], {
    cwd: options.cwd ?? dir,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.processGroup ?? false,
  });
  let output = '';
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    for (const w of waiters) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitFor = (pattern: RegExp, timeoutMs = 60_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const match = output.match(pattern);
        if (!match) return;
        cleanup();
        resolve(match);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`asya dev did not print ${pattern} within ${timeoutMs} ms; output:\n${output}`));
      }, timeoutMs);
      const gone = () => {
        check();
        cleanup();
        reject(new Error(`asya dev exited before printing ${pattern}; output:\n${output}`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
        child.removeListener('exit', gone);
      };
      waiters.add(check);
      child.once('exit', gone);
      check();
    });
  const ready = await waitFor(/ready: try 'asya tools'/, 120_000).then(() => output.match(/gateway (http:\/\/127\.0\.0\.1:\d+)/));
  if (!ready) throw new Error(`no gateway URL in:\n${output}`);
  return {
    child,
    url: ready[1]!,
    output: () => output,
    waitFor,
    exited,
    interruptGroup() {
      process.kill(-child.pid!, 'SIGINT');
    },
    async stop(signal = 'SIGINT') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** A copy of examples/<name> in a fresh temp directory; `cleanup` removes it. */
export function copyExample(name: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `asya-example-${name}-`));
  cpSync(join(REPO_ROOT, 'examples', name), dir, { recursive: true });
  // Inside the repo the TypeScript handlers are ES modules by the repo's package.json; a copy needs its own
  // (without it the Node runtime cannot load them: see the report on issue 8).
  if (!existsSync(join(dir, 'package.json'))) writeFileSync(join(dir, 'package.json'), '{"type": "module"}\n');
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function editFile(path: string, edit: (text: string) => string): void {
  writeFileSync(path, edit(readFileSync(path, 'utf8')));
}

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** One `asya <args>` run to its end (async, so a dev process this test also runs keeps being read). */
export function asya(args: string[], env: Record<string, string> = {}, cwd = REPO_ROOT): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ASYA_BIN, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}
