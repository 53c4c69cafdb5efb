/**
 * One component of the chaos world as a real process that a scenario may kill with SIGKILL and start again,
 * as kubelet restarts a crashed container. Each run has a process group of its own, so a kill takes the
 * component's children with it (the crew's runtime) and never the test runner.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { waitUntil } from '../support/gateway-harness.ts';
import { REPO_ROOT } from '../support/runtime-process.ts';
import { signalGroup } from '../support/process-group.ts';

/** Enough of a component's output to explain a failure, without holding a whole run's INFO logs. */
const OUTPUT_TAIL = 64 * 1024;

export interface ServiceSpec {
  name: string;
  command: string[];
  env: Record<string, string>;
  /** Runs before each start, e.g. removing a ready file a killed process left behind. */
  beforeStart?: () => void;
  /** True once this run of the component is ready; `output` is this run's output so far. */
  ready: (output: string) => boolean | Promise<boolean>;
  readyTimeoutMs?: number;
}

export interface Service {
  readonly name: string;
  /** Spawns the component and waits until it is ready. */
  start(): Promise<void>;
  /** SIGKILL to the whole process group; resolves once the main process is gone. */
  kill(): Promise<void>;
  /** SIGTERM (a drain), then SIGKILL to the group if it outlives the grace period. */
  stop(graceMs?: number): Promise<void>;
  running(): boolean;
  /** The tail of every run's output, with a line between runs. */
  output(): string;
}

export function service(spec: ServiceSpec): Service {
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let alive = false;
  let log = '';
  const append = (text: string) => {
    log = (log + text).slice(-OUTPUT_TAIL);
  };

  const svc: Service = {
    name: spec.name,
    async start() {
      spec.beforeStart?.();
      append(`\n--- ${spec.name} started at ${new Date().toISOString()}\n`);
      let run = '';
      const [cmd, ...args] = spec.command;
      const proc = spawn(cmd!, args, { cwd: REPO_ROOT, env: { ...process.env, ...spec.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      child = proc;
      alive = true;
      const onData = (chunk: Buffer) => {
        const text = chunk.toString();
        run = (run + text).slice(-OUTPUT_TAIL);
        append(text);
      };
      proc.stdout!.on('data', onData);
      proc.stderr!.on('data', onData);
      exited = new Promise((resolve) =>
        proc.once('exit', (code, signal) => {
          alive = false;
          append(`\n--- ${spec.name} exited (${signal ?? code}) at ${new Date().toISOString()}\n`);
          resolve();
        }),
      );
      await waitUntil(
        async () => {
          if (!alive) throw new Error(`${spec.name} exited before it was ready:\n${run}`);
          return spec.ready(run);
        },
        spec.readyTimeoutMs ?? 60_000,
        `${spec.name} ready`,
      );
    },
    async kill() {
      signalGroup(child, 'SIGKILL');
      await exited;
    },
    async stop(graceMs = 15_000) {
      if (!alive) {
        signalGroup(child, 'SIGKILL');
        return;
      }
      child?.kill('SIGTERM');
      const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      // What the component started (the crew's runtime) goes with it.
      signalGroup(child, 'SIGKILL');
    },
    running: () => alive,
    output: () => log,
  };
  return svc;
}

export const ASYA_BIN = [process.execPath, `${REPO_ROOT}/bin/asya.js`];
