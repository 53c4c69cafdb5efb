/**
 * The whole system in one process: a transport (in-memory, or a real broker), every queue created before
 * the first call, the gateway with its embedded store, the crew, and a DevActor per AsyncActor manifest.
 */
import { join } from 'node:path';
import { CREW_SETTINGS } from '../../crew/settings.ts';
import { startGateway, type RunningGateway } from '../../gateway/server.ts';
import { queueName, type LogFormat, type Logger } from '../../protocol/index.ts';
import { fromEnv, toEnvRecord } from '../../settings/index.ts';
import { SIDECAR_SETTINGS } from '../../sidecar/settings.ts';
import { createTransport } from '../../transport/factory.ts';
import { MemoryTransport } from '../../transport/memory.ts';
import type { Transport } from '../../transport/transport.ts';
import { CREW_ROLES, startCrew, type RunningCrew } from '../crew.ts';
import { devAccessEnv } from './access.ts';
import { ActorCounters, counterTotal, countingTransport } from './actor-stats.ts';
import { findActors, watchedFiles } from './actors.ts';
import { DevActor } from './dev-actor.ts';
import { watchHandlerFiles, type HandlerWatch } from './handler-watch.ts';
import type { ActorRow } from './status-board.ts';
import { cliLogLevel } from '../settings.ts';
import { temporaryDir } from '../temp-dir.ts';
import type { ConsoleSources } from '../../gateway/console/sources.ts';
import { consoleDeadLetters } from '../console-dlq.ts';
import { DLQ_CLI_SETTINGS } from '../settings.ts';

const CREW_RUNTIME = join(import.meta.dirname, 'crew-runtime.mjs');

export { TRANSPORT_KINDS, type TransportKind } from '../../transport/factory.ts';
import type { TransportKind } from '../../transport/factory.ts';

export interface DevStackOptions {
  dir: string;
  transport: TransportKind;
  port: number;
  /** Where the embedded store keeps its data; in memory when undefined. */
  dataDir: string | undefined;
  resultsDir: string;
  toolsFile: string | undefined;
  env: Record<string, string | undefined>;
  /** A component's logger by name (sidecars, gateway, crew, transport) and the actor it speaks for. */
  logger: (name: string, actor?: string) => Logger;
  /** How runtime children's lines are shown (they log in the format of ASYA_LOG_FORMAT in `env`). */
  logFormat: LogFormat;
  /** dev mode's own one-line messages. */
  say: (line: string) => void;
}

interface CrewMember {
  crew: RunningCrew;
  counters: ActorCounters;
}

export interface DevStack {
  readonly gateway: RunningGateway;
  readonly transport: Transport;
  readonly actors: DevActor[];
  rows(): Promise<ActorRow[]>;
  /** Messages waiting or in flight in the queues of the actors that run, and of the crew. */
  pending(): Promise<{ total: number; stranded: Array<{ actor: string; messages: number }> }>;
  /**
   * Drains every component (in-flight work finishes), then closes the gateway and the transport. Answers
   * how many messages the queues still held once the actors had stopped (they stay on a real broker).
   */
  stop(): Promise<number>;
}

async function openTransport(options: DevStackOptions): Promise<Transport> {
  const log = options.logger('asya.transport');
  const logger = { info: () => {}, warn: (m: string) => log.warn(m), error: (m: string) => log.error(m) };
  if (options.transport === 'memory') return new MemoryTransport({ logger });
  return createTransport({ ...options.env, ASYA_TRANSPORT: options.transport }, { logger });
}

export async function startDevStack(given: DevStackOptions): Promise<DevStack> {
  const options = { ...given, env: devAccessEnv(given.env, given.say) };
  const manifests = findActors(options.dir);
  if (manifests.length === 0) throw new Error(`no AsyncActor manifests found under ${options.dir}`);
  const work = temporaryDir('asya-dev-');
  const workdir = work.path;
  const transport = await openTransport(options).catch((err: unknown) => {
    work.remove();
    throw err;
  });
  const cleanups: Array<() => Promise<void> | void> = [() => transport.close(), () => work.remove()];
  const undo = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => {});
  };
  const consoleSources: ConsoleSources = { deadLetters: consoleDeadLetters(transport, fromEnv(DLQ_CLI_SETTINGS, options.env).dlqQueue) };
  try {
    const gateway = await startGateway({
      transport,
      consoleSources,
      log: options.logger('asya.gateway'),
      env: { ...options.env, ASYA_TRANSPORT: options.transport },
      config: {
        host: '127.0.0.1',
        port: options.port,
        ...(options.toolsFile ? { configPath: options.toolsFile } : {}),
        ...(options.dataDir ? { dataDir: options.dataDir } : {}),
      },
    }).catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'EADDRINUSE' ? new Error(`port ${options.port} is in use (another asya dev?); pick another with --port`) : err;
    });
    cleanups.push(() => gateway.stop());
    const ctx = { dir: options.dir, workdir, transport, env: options.env, gatewayUrl: gateway.url, logger: options.logger, logFormat: options.logFormat, say: options.say };
    const actors = manifests.map((actor) => new DevActor(actor, ctx));
    // Before any call can be routed: a queue that exists holds messages even for an actor that is down.
    for (const actor of actors) await transport.ensureQueue(actor.queue, actor.queueOptions());

    const crewEnv = {
      ...options.env,
      ...toEnvRecord(CREW_SETTINGS, { gatewayUrl: gateway.url, resultsDir: options.resultsDir, logLevel: cliLogLevel(options.env) }),
      ...toEnvRecord(SIDECAR_SETTINGS, { metricsEnabled: false }),
    };
    const crew: CrewMember[] = await Promise.all(
      CREW_ROLES.map(async (role) => {
        const counters = new ActorCounters();
        const crew = await startCrew(role, {
          transport: countingTransport(transport, counters),
          env: crewEnv,
          log: options.logger('asya.crew', role),
          runtimeCommand: [process.execPath, CREW_RUNTIME],
        });
        return { crew, counters };
      }),
    );
    cleanups.push(() => Promise.all(crew.map((c) => c.crew.stop())).then(() => {}));
    // The crew's runtimes are plain children: if dev mode exits without its drain (a second Ctrl-C, a crash),
    // they must not outlive it.
    const killCrewRuntimes = () => {
      for (const c of crew) c.crew.runtime.child?.kill('SIGKILL');
    };
    process.once('exit', killCrewRuntimes);
    cleanups.push(() => void process.removeListener('exit', killCrewRuntimes));
    await Promise.all(actors.map((a) => a.start()));
    const watched = new Map(actors.map((a) => [a, watchedFiles(a.actor, options.dir)]));
    const watch: HandlerWatch = watchHandlerFiles([...new Set([...watched.values()].flat())], (file) => {
      for (const [actor, files] of watched) if (files.includes(file)) void actor.reload();
    });
    cleanups.push(() => watch.close());

    const crewRow = async ({ crew: c, counters }: CrewMember): Promise<ActorRow> => {
      const depth = await transport.queueDepth(queueName(c.name)).catch(() => undefined);
      const ns = c.config.metricsNamespace ? `${c.config.metricsNamespace}_` : '';
      return {
        name: c.name,
        state: 'crew',
        queued: depth ? depth.ready + depth.delayed : undefined,
        inFlight: counters.inFlight,
        processed: await counterTotal(c.sidecar.metrics.registry, `${ns}messages_processed_total`),
        errors: await counterTotal(c.sidecar.metrics.registry, `${ns}messages_failed_total`),
        p50Ms: counters.p50(),
        p95Ms: counters.p95(),
      };
    };
    const depthOf = async (queue: string) => {
      const d = await transport.queueDepth(queue).catch(() => ({ ready: 0, inFlight: 0, delayed: 0 }));
      return d.ready + d.inFlight + d.delayed;
    };
    const rows = async () => [...(await Promise.all(actors.map((a) => a.row()))), ...(await Promise.all(crew.map(crewRow)))];
    consoleSources.actors = rows;
    consoleSources.actorsNote = 'asya dev: queue depth from the transport, the rest counted by each sidecar it runs (p50 and p95 over the last 256 messages)';
    let stopped: Promise<number> | undefined;
    return {
      gateway,
      transport,
      actors,
      rows,
      async pending() {
        let total = 0;
        const stranded: Array<{ actor: string; messages: number }> = [];
        for (const actor of actors) {
          const messages = await depthOf(actor.queue);
          if (actor.state === 'failed') {
            if (messages > 0) stranded.push({ actor: actor.name, messages });
          } else total += messages;
        }
        for (const c of crew) total += await depthOf(queueName(c.crew.name));
        return { total, stranded };
      },
      stop() {
        stopped ??= (async () => {
          watch.close();
          await Promise.all(actors.map((a) => a.stop()));
          let left = 0;
          for (const queue of [...actors.map((a) => a.queue), ...crew.map((c) => queueName(c.crew.name))]) left += await depthOf(queue);
          await undo();
          return left;
        })();
        return stopped;
      },
    };
  } catch (err) {
    await undo();
    throw err;
  }
}
