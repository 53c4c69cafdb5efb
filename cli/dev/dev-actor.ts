/**
 * One actor in dev mode: its runtime (a child process) and its in-process sidecar. An actor whose handler
 * does not load reports one error and waits for the handler file to change; the other actors never notice.
 * Its queue exists all the same, so calls routed to it wait there instead of failing.
 */
import { join } from 'node:path';
import { runtimeEnv, type AsyncActor } from '../../api/index.ts';
import { sidecarSettingsEnv } from '../../krm-functions/sidecar-settings.ts';
import { policyQueueOptions, queueName, sidecarQueueSettings, type LogFormat, type Logger, type QueuePolicy } from '../../protocol/index.ts';
import { endActorsFromEnv } from '../../protocol/settings.ts';
import { toEnvRecord } from '../../settings/index.ts';
import { SIDECAR_SETTINGS } from '../../sidecar/settings.ts';
import { loadSidecarConfig, queuePolicyOfConfig, type SidecarConfig } from '../../sidecar/config.ts';
import { startSidecar, type RunningSidecar } from '../../sidecar/sidecar.ts';
import type { QueueOptions, Transport } from '../../transport/transport.ts';
import { ActorCounters, counterTotal, countingTransport } from './actor-stats.ts';
import { handlerSpec, isNodeHandler, pythonPath, runtimeCommandFor } from './actors.ts';
import { devRuntime, type DevRuntime } from './runtime-process.ts';
import { runtimeLine, type ActorRow } from './status-board.ts';
import { errorText } from '../../protocol/errors.ts';

const RESTART_PAUSE_MS = 1000;

export interface DevActorContext {
  dir: string;
  workdir: string;
  transport: Transport;
  env: Record<string, string | undefined>;
  gatewayUrl: string;
  /** A component's logger by name and actor (warnings and errors by default). */
  logger: (name: string, actor?: string) => Logger;
  /** The format the runtime's lines are shown in. */
  logFormat: LogFormat;
  /** dev mode's own one-line messages. */
  say: (line: string) => void;
}

/**
 * The dev sidecar's env: your environment as the platform's defaults, the actor's spec-derived settings as in
 * the cluster (krm-functions/sidecar-settings.ts), then what only dev mode decides (where the socket is,
 * the in-process gateway, no metrics port).
 */
export function devSidecarEnv(actor: AsyncActor, ctx: Pick<DevActorContext, 'env' | 'gatewayUrl' | 'say'>, socketDir: string): Record<string, string | undefined> {
  const settings = sidecarSettingsEnv(actor, endActorsFromEnv(ctx.env));
  for (const name of settings.unresolved) {
    const from = ctx.env[name] === undefined ? 'it stays unset' : 'dev mode uses the value in your environment';
    ctx.say(`actor ${actor.metadata.name}: spec.sidecar.env ${name} comes from a Secret or ConfigMap, which dev mode cannot read; ${from}`);
  }
  return {
    ...ctx.env,
    ...settings.env,
    ...toEnvRecord(SIDECAR_SETTINGS, { socketDir, runtimeReadyTimeoutMs: 60_000, metricsEnabled: false, gatewayUrl: ctx.gatewayUrl }),
  };
}

export type DevActorState = 'starting' | 'up' | 'reloading' | 'failed' | 'stopped';

export class DevActor {
  readonly name: string;
  readonly counters = new ActorCounters();
  readonly config: SidecarConfig;
  state: DevActorState = 'starting';
  private readonly runtime: DevRuntime;
  private readonly queuePolicy: QueuePolicy;
  private sidecar: RunningSidecar | undefined;
  private busy: Promise<void> = Promise.resolve();

  constructor(
    readonly actor: AsyncActor,
    private readonly ctx: DevActorContext,
  ) {
    this.name = actor.metadata.name;
    const socketDir = join(ctx.workdir, this.name);
    const sidecarEnv = devSidecarEnv(actor, ctx, socketDir);
    this.config = loadSidecarConfig(sidecarEnv);
    // The queue policy as a sidecar in the cluster gets it (ASYA_QUEUE_* from your environment); dev mode
    // always creates its queues on the in-memory broker.
    this.queuePolicy = { ...queuePolicyOfConfig(this.config), autoCreate: true };
    this.runtime = devRuntime({
      command: runtimeCommandFor(actor),
      env: {
        ...ctx.env,
        ASYA_LOG_LEVEL: 'WARNING',
        ...runtimeEnv(actor),
        ASYA_SOCKET_DIR: socketDir,
        PYTHONPATH: [...pythonPath(ctx.dir), ctx.env.PYTHONPATH].filter(Boolean).join(':'),
        PYTHONUNBUFFERED: '1',
      },
      cwd: ctx.dir,
      paths: this.config,
      readyTimeoutMs: 60_000,
      output: (line) => ctx.say(runtimeLine(line, this.name, ctx.logFormat)),
      onUnexpectedExit: (code, signal) => {
        if (this.state !== 'up') return;
        ctx.say(`actor ${this.name}: the runtime exited (${signal ?? `code ${code}`}); starting it again`);
        this.state = 'starting';
        setTimeout(() => void this.serialized(() => this.bringUp()), RESTART_PAUSE_MS).unref();
      },
    });
  }

  /** What the sidecar passes to ensureQueue (one rule for sidecar, crew and controller); created before any call. */
  queueOptions(): QueueOptions {
    return policyQueueOptions(this.queuePolicy, this.config.runtimeTimeoutMs);
  }

  get queue(): string {
    return queueName(this.name);
  }

  /** One lifecycle step at a time: an edit during a start waits for the start to end. */
  private serialized(step: () => Promise<void>): Promise<void> {
    this.busy = this.busy.then(step, step);
    return this.busy;
  }

  start(): Promise<void> {
    return this.serialized(() => this.bringUp());
  }

  /** After an edit: a running handler finishes, then the new code serves; a failed actor tries again. */
  reload(): Promise<void> {
    return this.serialized(async () => {
      if (this.state === 'stopped') return;
      if (this.state === 'failed' || !this.runtime.running) return this.bringUp();
      this.state = 'reloading';
      try {
        await this.runtime.reload();
        this.state = 'up';
        this.ctx.say(`actor ${this.name}: handler changed; runtime restarted`);
      } catch (err) {
        this.fail(err);
      }
    });
  }

  private async bringUp(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'starting';
    try {
      await this.runtime.start();
    } catch (err) {
      return this.fail(err);
    }
    if (!this.sidecar) {
      this.sidecar = await startSidecar({
        config: this.config,
        transport: countingTransport(this.ctx.transport, this.counters),
        supervisor: this.runtime,
        log: this.ctx.logger('asya.sidecar', this.name),
        queue: sidecarQueueSettings(this.queuePolicy),
      });
    }
    this.state = 'up';
    this.ctx.say(`actor ${this.name}: up (${isNodeHandler(this.actor) ? 'node' : 'python'} runtime, handler ${handlerSpec(this.actor)})`);
  }

  private fail(err: unknown): void {
    this.state = 'failed';
    const reason = errorText(err).replace(/[.\s]+$/, '');
    this.ctx.say(`✗ actor ${this.name}: its handler failed to load: ${reason}. Its messages wait in ${this.queue}; the other actors keep running. Fix the handler and save it to retry.`);
  }

  /** Drain: the sidecar stops taking messages and finishes those in flight, then the runtime stops. */
  stop(): Promise<void> {
    const previous = this.state;
    this.state = 'stopped';
    return (async () => {
      await this.busy.catch(() => {});
      if (previous === 'stopped') return;
      await this.sidecar?.stop();
      await this.runtime.stop();
    })();
  }

  async row(): Promise<ActorRow> {
    const depth = await this.ctx.transport.queueDepth(this.queue).catch(() => undefined);
    const registry = this.sidecar?.metrics.registry;
    const ns = this.config.metricsNamespace ? `${this.config.metricsNamespace}_` : '';
    return {
      name: this.name,
      state: this.state,
      queued: depth ? depth.ready + depth.delayed : undefined,
      inFlight: this.counters.inFlight,
      processed: registry ? await counterTotal(registry, `${ns}messages_processed_total`) : 0,
      errors: registry ? await counterTotal(registry, `${ns}messages_failed_total`) : 0,
      p50Ms: this.counters.p50(),
      p95Ms: this.counters.p95(),
    };
  }
}
