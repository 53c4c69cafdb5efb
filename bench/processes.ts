/**
 * Starting Asya's own processes for the benchmarks, as production runs them: each as its own process, so
 * its CPU and memory are its own. Shared by bench/hop, bench/gateway and bench/e2e.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ASYA_BIN } from '../test/support/dev-process.ts';
import { REPO_ROOT } from '../test/support/runtime-process.ts';

// The bundled build is what images run; fall back to the tsx entry when `make build` has not run.
export const ASYA_ENTRY = existsSync(join(REPO_ROOT, 'dist/asya.js')) ? join(REPO_ROOT, 'dist/asya.js') : join(REPO_ROOT, 'bin/asya.js');

/**
 * The checkout whose bundles bench/cold-start and bench/memory run: this one, or ASYA_BENCH_ROOT, another
 * checkout where `make build` ran (how their "before" columns are measured).
 */
export const BUNDLE_ROOT = resolve(process.env.ASYA_BENCH_ROOT ?? REPO_ROOT);

/** A bundle of BUNDLE_ROOT (`dist/asya.js`, the full image's; `dist/sidecar/dist/asya.js`, the sidecar image's). */
export function bundleEntry(path: 'dist/asya.js' | 'dist/sidecar/dist/asya.js'): string {
  const entry = join(BUNDLE_ROOT, path);
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`make build\` in ${BUNDLE_ROOT} first`);
  return entry;
}

/** The images run node with a small young generation (Dockerfile's ENTRYPOINT); the benches do the same. */
export const IMAGE_NODE_ARGS: readonly string[] = ['--max-semi-space-size=2'];

/** Node's arguments from `variable` (space-separated; empty for none), or the image's when it is unset. */
function nodeArgsFrom(variable: string): string[] {
  return process.env[variable]?.split(' ').filter(Boolean) ?? [...IMAGE_NODE_ARGS];
}

/** How the benches run an Asya process: as the image does, unless ASYA_BENCH_SIDECAR_NODE_ARGS says otherwise. */
export function sidecarNodeArgs(): string[] {
  // ASYA_BENCH_SIDECAR_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" shows where a sidecar spends its time.
  return nodeArgsFrom('ASYA_BENCH_SIDECAR_NODE_ARGS');
}

/**
 * How the benches run a raw baseline beside it: with the same heap settings, so that a ratio compares code
 * with code and not one young generation with another (ASYA_BENCH_BASELINE_NODE_ARGS overrides them).
 */
export function baselineNodeArgs(): string[] {
  return nodeArgsFrom('ASYA_BENCH_BASELINE_NODE_ARGS');
}

/** Resolves once the child printed `text`; from then on its output is read and dropped, so a long run keeps none. */
export function waitForLine(child: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onExit = (code: number | null) => reject(new Error(`exited with ${code} before "${text}":\n${out}`));
    const onData = (c: Buffer) => {
      out += c.toString();
      if (!out.includes(text)) return;
      out = '';
      for (const stream of [child.stdout, child.stderr]) stream?.removeListener('data', onData).resume();
      child.removeListener('exit', onExit);
      resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

export interface BenchProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** SIGTERM, then wait for the exit. Safe to call twice. */
  stop(): Promise<void>;
}

function stoppable(child: ChildProcess): BenchProcess {
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A plain Node script (a raw baseline's process), resolved once it printed `readyText`. */
export async function startNodeScript(script: string, args: string[], readyText = 'consuming'): Promise<BenchProcess> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  await waitForLine(child, readyText);
  return stoppable(child);
}

/** `asya <args>` (ASYA_ENTRY) with `env` on top of this process's, resolved once it printed `readyText`. */
export async function startAsya(args: string[], env: Record<string, string>, readyText: string, nodeArgs: string[] = sidecarNodeArgs()): Promise<BenchProcess> {
  const child = spawn(process.execPath, [...nodeArgs, ASYA_ENTRY, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  await waitForLine(child, readyText);
  return stoppable(child);
}

/** Settings other than the defaults, to try one: the space-separated `NAME=value` pairs of the variable `name`. */
export function triedSettings(name: string): Record<string, string> {
  return Object.fromEntries((process.env[name] ?? '').split(' ').filter(Boolean).map((pair) => {
    const at = pair.indexOf('=');
    if (at < 1) throw new Error(`${name}: "${pair}" is not NAME=value`);
    return [pair.slice(0, at), pair.slice(at + 1)];
  }));
}

/**
 * `asya gateway` as its own process, with exactly `env` (plus PATH), on a free port of 127.0.0.1; resolved
 * once /ready answers 200. By default it runs the sources under tsx;
 * ASYA_BENCH_GATEWAY_BUNDLE=dist/asya.js runs the bundled CLI (`make build`), as container images do, and
 * ASYA_BENCH_GATEWAY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles it, and
 * ASYA_BENCH_GATEWAY_ENV="ASYA_DB_MAX_CONNS=3 …" gives it settings other than the defaults (to try one).
 */
export async function startGatewayProcess(env: Record<string, string>): Promise<BenchProcess & { url: string }> {
  const script = `import(${JSON.stringify(join(REPO_ROOT, 'cli/gateway.ts'))}).then((m) => m.runGateway([]))`;
  const nodeArgs = (process.env.ASYA_BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const bundle = process.env.ASYA_BENCH_GATEWAY_BUNDLE;
  const entry = bundle ? [resolve(REPO_ROOT, bundle), 'gateway'] : ['--import', 'tsx', '--input-type=module', '-e', script];
  const tried = triedSettings('ASYA_BENCH_GATEWAY_ENV');
  const child = spawn(process.execPath, [...nodeArgs, ...entry], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', ASYA_LOG_LEVEL: 'INFO', ASYA_GATEWAY_HOST: '127.0.0.1', ASYA_GATEWAY_PORT: '0', ...env, ...tried },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const proc = stoppable(child);
  try {
    const url = await new Promise<string>((resolvePort, reject) => {
      let err = '';
      let found = false; // then keep nothing of a long run's log
      child.stderr!.on('data', (d: Buffer) => {
        if (found) return;
        err += d.toString();
        const port = /listening on 127\.0\.0\.1:(\d+)/.exec(err)?.[1];
        if (!port) return;
        found = true;
        resolvePort(`http://127.0.0.1:${port}`);
      });
      child.once('exit', (code) => reject(new Error(`gateway exited with ${code}: ${err}`)));
    });
    // A gateway still booting its embedded database may drop the connection instead of answering 503.
    while ((await fetch(`${url}/ready`).catch(() => undefined))?.status !== 200) await new Promise((r) => setTimeout(r, 100));
    return { ...proc, url };
  } catch (err) {
    await proc.stop();
    throw err;
  }
}

/**
 * `asya dev <dir>` as users run it (bin/asya.js, not the bundle), on a free port, in `dir` (its store lands
 * in dir/.asya); resolved with the gateway's URL once it printed that it is ready, every actor's runtime
 * started. Stopping it is Ctrl-C's SIGINT.
 */
export async function startDevProject(dir: string, env: Record<string, string> = {}): Promise<BenchProcess & { url: string }> {
  const child = spawn(process.execPath, [...sidecarNodeArgs(), ASYA_BIN, 'dev', dir, '--port', '0', '--no-table'], {
    cwd: dir,
    env: { ...process.env, ASYA_LOG_LEVEL: 'INFO', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const proc: BenchProcess = {
    child,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      await exited;
    },
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const onData = (c: Buffer) => {
        out += c.toString();
        const found = /ready: try 'asya tools'/.test(out) ? /gateway (http:\/\/127\.0\.0\.1:\d+)/.exec(out) : null;
        if (!found) return;
        for (const stream of [child.stdout, child.stderr]) stream.removeListener('data', onData).resume();
        child.removeListener('exit', onExit);
        resolve(found[1]!);
      };
      const onExit = (code: number | null) => reject(new Error(`asya dev exited with ${code}:\n${out}`));
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', onExit);
    });
    return { ...proc, url };
  } catch (err) {
    await proc.stop();
    throw err;
  }
}
