/**
 * `asya crew happy-end|error-end`: one end actor in one command. It runs the Node runtime with the crew
 * handler (`asya runtime`, envelope mode, validation off) as a child process and the sidecar in end-actor
 * mode in front of it: the same two parts a cluster runs as two containers, here one process tree for dev.
 */
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { createLogger, CREW_CONCURRENCY, CREW_ROLES, type CrewRole, type Logger } from '../protocol/index.ts';
import { endActorsFromEnv, logFormatFromEnv, logLevelFromEnv } from '../protocol/settings.ts';
import { FAN_IN_ACTOR } from '../protocol/fan-in.ts';
import { sidecarQueueSettings } from '../protocol/queue-policy.ts';
import { RUNTIME_SETTINGS } from '../runtime/settings.ts';
import { isSet, pickSettings, readSettings, toEnvRecord } from '../settings/index.ts';
import { SIDECAR_SETTINGS } from '../sidecar/settings.ts';
import { ensureDlqQueue } from '../crew/dlq.ts';
import { ConfigError, loadSidecarConfig, queuePolicyOfConfig, type SidecarConfig } from '../sidecar/config.ts';
import { startSidecar, type RunningSidecar } from '../sidecar/sidecar.ts';
import { childProcessSupervisor, type SpawnedRuntime } from '../sidecar/supervisor.ts';
import type { Transport } from '../transport/transport.ts';
import { startTracing } from '../telemetry/index.ts';
import { temporaryDir } from './temp-dir.ts';

export { CREW_ROLES, type CrewRole } from '../protocol/crew.ts';

const REPO_ROOT = resolve(import.meta.dirname, '..');

type Env = Record<string, string | undefined>;

const SOCKET_DIR_ONLY = pickSettings(SIDECAR_SETTINGS, ['socketDir']);
const ACTOR_NAME_ONLY = pickSettings(SIDECAR_SETTINGS, ['actorName']);

export interface CrewOptions {
  /** @default process.env */
  env?: Env;
  /** Used instead of one built from env (tests, `asya dev`); not closed by stop(). */
  transport?: Transport;
  log?: Logger;
  /** How to start `asya runtime`. @default this process's `asya` entry point */
  runtimeCommand?: string[];
  /** Receives the runtime's stdout and stderr (tests attribute it to a test). @default this process's */
  runtimeOutput?: (chunk: Buffer) => void;
  /**
   * The runtime exits when this process dies, even by SIGKILL: a crew killed outside a container (on a host,
   * under a test) leaves no runtime behind. @default true
   */
  runtimeExitsWithParent?: boolean;
}

export interface RunningCrew {
  readonly role: CrewRole;
  /** The end actor's name (ASYA_ACTOR_HAPPY_END / ASYA_ACTOR_ERROR_END, or the default). */
  readonly name: string;
  readonly config: SidecarConfig;
  readonly runtime: SpawnedRuntime;
  readonly sidecar: RunningSidecar;
  /** Drain the sidecar, stop the runtime, close the transport if we opened it. */
  stop(): Promise<void>;
}

/**
 * The crew handler file, next to this command: TypeScript in the source tree and the full image (/app/crew),
 * JavaScript in the sidecar image (cli/build.ts bundles it there), which carries no tsx to load TypeScript.
 */
export function crewHandler(role: CrewRole): string {
  const bundled = join(REPO_ROOT, 'crew', `${role}.js`);
  return `${existsSync(bundled) ? bundled : join(REPO_ROOT, 'crew', `${role}.ts`)}#handle`;
}

/** What the crew's runtime needs on top of the caller's env; the crew refuses to run without it. */
export function crewRuntimeEnv(role: CrewRole, socketDir: string): Record<string, string> {
  return toEnvRecord(RUNTIME_SETTINGS, { handler: crewHandler(role), mode: 'envelope', validate: false, socketDir });
}

/** A fan-in actor may take another name (ASYA_ACTOR_NAME), e.g. one per policy. */
function fanInName(env: Env): string {
  return isSet(SIDECAR_SETTINGS, 'actorName', env) ? readSettings(ACTOR_NAME_ONLY, env).values.actorName : FAN_IN_ACTOR;
}

function defaultRuntimeCommand(): string[] {
  const entry = process.argv[1];
  // `asya` itself (bin/asya.js, dist/asya.js in the image, or an npm bin link) can serve as the runtime.
  const self = entry && /^asya(\.js)?$/.test(basename(entry)) ? entry : join(REPO_ROOT, 'bin/asya.js');
  return [process.execPath, self, 'runtime'];
}

export async function startCrew(role: CrewRole, options: CrewOptions = {}): Promise<RunningCrew> {
  const env = options.env ?? process.env;
  const ends = endActorsFromEnv(env);
  const name = role === 'happy-end' ? ends.happyEnd : role === 'error-end' ? ends.errorEnd : fanInName(env);
  // Unless told otherwise: a socket dir of its own (two crews on one machine must not share one), and the crew's concurrency.
  const ownSocketDir = isSet(SIDECAR_SETTINGS, 'socketDir', env) ? undefined : temporaryDir(`asya-crew-${name}-`);
  const socketDir = ownSocketDir?.path ?? readSettings(SOCKET_DIR_ONLY, env).values.socketDir;
  const config = loadSidecarConfig({
    ...env,
    ...toEnvRecord(SIDECAR_SETTINGS, { ...(isSet(SIDECAR_SETTINGS, 'concurrency', env) ? {} : { concurrency: CREW_CONCURRENCY }), actorName: name, isEndActor: true, socketDir }),
  });
  const log = options.log ?? createLogger(config.logLevel, 'asya.crew', { format: config.logFormat, actor: name });
  let stopping = false;
  const runtime = childProcessSupervisor({
    command: options.runtimeCommand ?? defaultRuntimeCommand(),
    env: { ...env, ...crewRuntimeEnv(role, socketDir) },
    cwd: process.cwd(),
    paths: config,
    readyTimeoutMs: config.runtimeReadyTimeoutMs,
    log,
    output: options.runtimeOutput,
    exitWithParent: options.runtimeExitsWithParent ?? true,
  });
  // A crew runtime that dies on its own is started again; the sidecar holds messages meanwhile. A restart
  // the sidecar asked for (timeout) spawns the successor itself, so only a child nobody replaced counts.
  const watch = () => {
    const child = runtime.child;
    child?.once('exit', () => {
      setTimeout(() => {
        if (stopping || runtime.child !== child) return;
        void runtime.restart('the crew runtime exited').then(watch);
      }, 1000).unref();
    });
  };
  let transport: Transport | undefined;
  const cleanup = async () => {
    stopping = true;
    await runtime.stop();
    if (!options.transport) await transport?.close();
    ownSocketDir?.remove();
  };
  let sidecar: RunningSidecar;
  try {
    await runtime.start();
    watch();
    transport = options.transport ?? (await (await import('../transport/factory.ts')).createTransport(env, { logger: log }));
    // error-end's dead letters must have somewhere to go before the first one is written.
    if (role === 'error-end') await ensureDlqQueue(transport, config.dlqQueue);
    sidecar = await startSidecar({
      config,
      transport,
      supervisor: runtime,
      log,
      queue: sidecarQueueSettings(queuePolicyOfConfig(config)),
    });
  } catch (err) {
    await cleanup();
    throw err;
  }
  let stopped: Promise<void> | undefined;
  return {
    role,
    name,
    config,
    runtime,
    sidecar,
    stop() {
      stopped ??= (async () => {
        stopping = true;
        await sidecar.stop();
        await cleanup();
      })();
      return stopped;
    },
  };
}

const CREW_USAGE = `Usage: asya crew happy-end|error-end|fan-in\n\nRuns a crew actor: the crew handler in the Node runtime and the sidecar in end-actor mode. fan-in (a route step that joins a fan-out's children) also reads ASYA_FAN_IN_POLICY and ASYA_FAN_IN_TIMEOUT, and ASYA_ACTOR_NAME for another name than fan-in.\nConfiguration: the sidecar's env (ASYA_TRANSPORT, ASYA_GATEWAY_URL, ...) and the crew's (ASYA_S3_BUCKET or ASYA_RESULTS_DIR, ASYA_RETRY_POLICY, ASYA_DLQ_QUEUE); see docs/crew.md.\n`;

/** The CLI entry: `asya crew happy-end|error-end|fan-in`; runs until SIGTERM/SIGINT, then drains. */
export async function runCrew(args: string[]): Promise<void> {
  const [role, ...extra] = args;
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(CREW_USAGE);
    return;
  }
  if (!CREW_ROLES.includes(role as CrewRole) || extra.length > 0) {
    process.stderr.write(CREW_USAGE);
    process.exitCode = 2;
    return;
  }
  let crew: RunningCrew;
  const tracing = await startTracing('crew');
  try {
    crew = await startCrew(role as CrewRole);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    createLogger(logLevelFromEnv(process.env), 'asya.crew', { format: logFormatFromEnv(process.env), actor: role }).error(`FATAL: ${err.message}`);
    process.exit(1);
  }
  const stop = (signal: string) => {
    createLogger(crew.config.logLevel, 'asya.crew', { format: crew.config.logFormat, actor: crew.name }).info(`${signal}: draining`);
    void crew
      .stop()
      .then(() => tracing.shutdown())
      .then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
