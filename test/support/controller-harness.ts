/**
 * The live controller against the in-process fake API server: start controllers with test timings, talk to
 * the API as a user would, and read back status and Events. One harness per test; `stop()` stops
 * everything it started.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { temporaryDir, type TempDir } from '../../cli/temp-dir.ts';
import { loadControllerConfig, type ControllerConfig } from '../../controller/config.ts';
import { startController, type RunningController } from '../../controller/controller.ts';
import type { QueueAdmin } from '../../controller/queues.ts';
import { createLogger } from '../../protocol/index.ts';
import { FakeKubeApi, type Resource } from './fake-kube-api.ts';

export type ActorStatus = {
  status?: string;
  conditions?: { type: string; status: string; reason: string; message: string }[];
  [k: string]: unknown;
};

export interface RecordedEvent {
  metadata: { name: string };
  type: string;
  reason: string;
  action: string;
  note: string;
  regarding: { kind: string; name: string; uid: string };
  series?: { count: number };
}

/** Timings short enough for tests; the settings are the real ones (ASYA_* variables). */
export const TEST_TIMINGS: Record<string, string> = {
  ASYA_METRICS_ADDR: '127.0.0.1:0',
  ASYA_RESYNC_INTERVAL: '300ms',
  ASYA_RETRY_BASE_DELAY: '50ms',
  ASYA_RETRY_MAX_DELAY: '500ms',
  ASYA_LEASE_RETRY_PERIOD: '100ms',
  ASYA_LEASE_DURATION_SECONDS: '1',
  ASYA_LEADER_ELECTION_NAMESPACE: 'asya',
  ASYA_LOG_LEVEL: 'ERROR',
};

export class ControllerHarness {
  readonly api: FakeKubeApi;
  url = '';
  private readonly running: RunningController[] = [];

  /** `resources`: what the fake API server serves (default: everything, KEDA included). */
  constructor(
    readonly namespace: string,
    resources?: Resource[],
  ) {
    this.api = new FakeKubeApi(resources);
  }

  async begin(): Promise<this> {
    this.url = await this.api.start();
    return this;
  }

  config(extra: Record<string, string> = {}): ControllerConfig {
    return loadControllerConfig({ ASYA_KUBE_API_URL: this.url, ...TEST_TIMINGS, ...extra });
  }

  /** `env`: the controller's own environment (broker settings), apart from its ASYA_* controller settings. */
  async start(queues: QueueAdmin, extra: Record<string, string> = {}, env: Record<string, string> = {}): Promise<RunningController> {
    const c = await startController({ config: this.config(extra), queues, env, log: createLogger('ERROR', 'test.controller') });
    this.running.push(c);
    await c.ready;
    return c;
  }

  async stopController(c: RunningController): Promise<void> {
    this.running.splice(this.running.indexOf(c), 1);
    await c.stop();
  }

  async stop(): Promise<void> {
    await Promise.all(this.running.splice(0).map((c) => c.stop()));
    await this.api.stop();
  }

  async request(method: string, path: string, body?: unknown, contentType = 'application/json') {
    const res = await fetch(`${this.url}${path}`, { method, headers: { 'content-type': contentType }, ...(body ? { body: JSON.stringify(body) } : {}) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  actorPath(name = ''): string {
    return `/apis/asya.sh/v1alpha1/namespaces/${this.namespace}/asyncactors${name ? `/${name}` : ''}`;
  }

  actor(name: string, spec: Record<string, unknown> = {}) {
    return {
      apiVersion: 'asya.sh/v1alpha1',
      kind: 'AsyncActor',
      metadata: { name, namespace: this.namespace },
      spec: {
        transport: 'rabbitmq',
        workload: { template: { spec: { containers: [{ name: 'asya-runtime', image: 'scorer:1', env: [{ name: 'ASYA_HANDLER', value: 'scorer.process' }] }] } } },
        ...spec,
      },
    };
  }

  async create(name: string, spec: Record<string, unknown> = {}): Promise<void> {
    const res = await this.request('POST', this.actorPath(), this.actor(name, spec));
    if (res.status !== 201) throw new Error(`create ${name}: ${JSON.stringify(res.body)}`);
  }

  statusOf(name: string): ActorStatus | undefined {
    return this.api.get('AsyncActor', this.namespace, name)?.status as ActorStatus | undefined;
  }

  condition(name: string, type: string) {
    return this.statusOf(name)?.conditions?.find((c) => c.type === type);
  }

  /** The Events about an actor, oldest first. */
  events(name: string): RecordedEvent[] {
    return (this.api.list('Event') as unknown as RecordedEvent[]).filter((e) => e.regarding.name === name && e.regarding.kind === 'AsyncActor');
  }
}

/** The platform settings (an AsyaPlatform resource) with this spec. */
export const platformResource = (spec: Record<string, unknown>) => ({ apiVersion: 'fn.asya.sh/v1alpha1', kind: 'AsyaPlatform', metadata: { name: 'p' }, spec });

/** A platform settings file with this spec, for ASYA_PLATFORM_CONFIG. */
export function platformFile(spec: Record<string, unknown>): string {
  return writePlatformFile(YAML.stringify(platformResource(spec)));
}

let platformDir: TempDir | undefined;
let platformFiles = 0;

/** A platform settings file with this text, in one directory per test process that goes with the process. */
export function writePlatformFile(text: string): string {
  platformDir ??= temporaryDir('asya-ctl-');
  const path = join(platformDir.path, `platform-${++platformFiles}.yaml`);
  writeFileSync(path, text);
  return path;
}

/** asya_controller_reconcile_total over every result, from the controller's /metrics. */
export async function reconciles(c: RunningController): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${c.metricsPort}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('asya_controller_reconcile_total{'))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}
