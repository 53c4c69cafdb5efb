/** `asya sidecar` as a real child process, for tests that kill it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './runtime-process.ts';

export interface SidecarProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  output(): string;
  /** Resolves once the sidecar logged that it is consuming. */
  consuming: Promise<void>;
}

/** `command` runs another `asya` command that logs the same line, such as `['crew', 'happy-end']`. */
export function spawnSidecar(env: Record<string, string>, command: string[] = ['sidecar']): SidecarProcess {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/asya.js'), ...command], {
    cwd: REPO_ROOT,
    env: { ...process.env, ASYA_METRICS_ENABLED: 'false', ASYA_LOG_LEVEL: 'INFO', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let markConsuming!: () => void;
  const consuming = new Promise<void>((r) => (markConsuming = r));
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.includes('Consuming ')) markConsuming();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, exited, output: () => output, consuming };
}
