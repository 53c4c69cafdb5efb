/**
 * `asya dev` and the cluster give an actor's sidecar the same settings. For every AsyncActor of every
 * inject-sidecar golden case, the sidecar configuration dev mode builds and the one the injected pod's env
 * gives (both read by the sidecar's own loadSidecarConfig) agree on everything the spec decides; so do the
 * queue options of dev mode, the controller and the pod's sidecar. Then `timeout.processing: 0` end to end:
 * dev mode uses the default timeout, not `0s`.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import YAML from 'yaml';
import { isAsyncActorResource, parseAsyncActor, SIDECAR_CONTAINER, validateAsyncActor, type AsyncActor } from '../api/index.ts';
import { DevActor, type DevActorContext } from '../cli/dev/dev-actor.ts';
import { queueOptionsFor } from '../controller/queues.ts';
import { GENERATED_FROM } from '../krm-functions/actors.ts';
import type { EnvVar } from '../krm-functions/transport-env.ts';
import { actorQueueOptions, createLogger, DEFAULT_RUNTIME_TIMEOUT, parseDuration } from '../protocol/index.ts';
import { loadSidecarConfig, type SidecarConfig } from '../sidecar/config.ts';
import { MemoryTransport } from '../transport/memory.ts';
import { asya, copyExample, editFile, startDev } from './support/dev-process.ts';

const TESTDATA = (fn: string) => join(import.meta.dirname, '../krm-functions', fn, 'testdata');

/**
 * What the platform or the place decides, not the spec: the socket and metrics (dev runs in-process), the
 * gateway, log level and format, how long a runtime may take to start, a Job pod's idle exit, the queue policy (the
 * platform's `transports.<t>.queues`; dev creates its in-memory queues itself) and the payload store (the
 * platform's `payloads`, `asya dev --payload-store`). Everything else in
 * SidecarConfig, including fields added later, must agree.
 */
const PLATFORM_FIELDS = [
  'socketDir',
  'socketPath',
  'readyFile',
  'restartMarker',
  'runtimeReadyTimeoutMs',
  'gatewayUrl',
  'gatewayToken',
  'metricsEnabled',
  'metricsAddr',
  'logLevel',
  'exitWhenIdleMs',
  'queueAutoCreate',
  'queueMaxDeliveries',
  'queueDlqRetentionDays',
  'logFormat',
  'payloadStore',
  'payloadOffloadBytes',
  'payloadS3Endpoint',
  'payloadS3Region',
] as const satisfies readonly (keyof SidecarConfig)[];

const specDecided = (config: SidecarConfig) =>
  Object.fromEntries(Object.entries(config).filter(([key]) => !(PLATFORM_FIELDS as readonly string[]).includes(key)));

type Item = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; annotations?: Record<string, string> }; spec?: Record<string, unknown> };

const readStream = (path: string): Item[] =>
  YAML.parseAllDocuments(readFileSync(path, 'utf8'))
    .map((d) => d.toJS() as Item | null)
    .filter((v): v is Item => v !== null);

const workdir = mkdtempSync(join(tmpdir(), 'asya-dev-settings-'));
afterAll(() => rmSync(workdir, { recursive: true, force: true }));

function devActor(actor: AsyncActor, env: Record<string, string> = {}, said: string[] = []): DevActor {
  const ctx: DevActorContext = {
    dir: workdir,
    workdir,
    transport: new MemoryTransport(),
    env,
    gatewayUrl: 'http://127.0.0.1:1',
    logger: (name) => createLogger('ERROR', name),
    logFormat: 'text',
    say: (line) => said.push(line),
  };
  return new DevActor(actor, ctx);
}

type PodSpec = { containers: Array<{ name: string; env?: EnvVar[] }> };

/** The pod of a generated workload (Deployment, StatefulSet, Job) or ScaledJob. */
const podOf = (o: Item): PodSpec | undefined => {
  const spec = o.spec as { template?: { spec: PodSpec }; jobTargetRef?: { template: { spec: PodSpec } } } | undefined;
  return (spec?.template ?? spec?.jobTargetRef?.template)?.spec;
};

/** The literal env of the sidecar container in the pod a function generated from this actor, if it made one. */
function podSidecarEnv(output: Item[], actor: AsyncActor): Record<string, string> | undefined {
  const generated = output.find((o) => o.metadata.annotations?.[GENERATED_FROM] === `AsyncActor/${actor.metadata.name}` && o.metadata.namespace === actor.metadata.namespace && podOf(o));
  if (!generated) return undefined;
  const sidecar = podOf(generated)!.containers.find((c) => c.name === SIDECAR_CONTAINER);
  expect(sidecar, `${actor.metadata.name}: no ${SIDECAR_CONTAINER} container`).toBeDefined();
  return Object.fromEntries((sidecar!.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
}

/** The valid AsyncActors of a golden case, each with the sidecar env of the pod the function wrote for it. */
function goldenActors(dir: string): Array<{ actor: AsyncActor; pod: Record<string, string> | undefined }> {
  const output = readStream(join(dir, 'expected.yaml'));
  return readStream(join(dir, 'input.yaml')).flatMap((item) => {
    if (!isAsyncActorResource(item)) return [];
    const validation = validateAsyncActor(item);
    return validation.ok ? [{ actor: validation.actor, pod: podSidecarEnv(output, validation.actor) }] : [];
  });
}

const failed = (dir: string) => (YAML.parse(readFileSync(join(dir, 'results.yaml'), 'utf8')) as Array<{ severity: string }> | null)?.some((r) => r.severity === 'error') ?? false;

describe('dev mode and the KRM functions give every golden actor the same sidecar settings', () => {
  const compared: string[] = [];
  afterAll(() => {
    // Guards against a vacuous pass: the goldens hold many actors with pods, the zero-timeout one among them.
    expect(compared.length).toBeGreaterThanOrEqual(15);
    expect(compared).toContain('inject-sidecar/zero-timeouts/unhurried');
    expect(compared).toContain('keda-scaler/job-scaledjob/transcode');
  });
  for (const fn of ['inject-sidecar', 'keda-scaler']) {
    for (const caseName of readdirSync(TESTDATA(fn)).sort()) {
      const dir = join(TESTDATA(fn), caseName);
      test(`${fn}/${caseName}`, () => {
        for (const { actor, pod } of goldenActors(dir)) {
          const where = `${fn}/${caseName}/${actor.metadata.name}`;
          // inject-sidecar writes a pod for every actor unless the config is refused or keda-scaler owns it (a scaled Job).
          const scaledJob = actor.spec.workload.kind === 'Job' && actor.spec.scaling?.enabled;
          if (fn === 'inject-sidecar' && !failed(dir) && !scaledJob) expect(pod, `${where}: no pod`).toBeDefined();
          if (!pod) continue;
          const dev = devActor(actor);
          const inPod = loadSidecarConfig(pod);
          expect(specDecided(dev.config), where).toEqual(specDecided(inPod));
          const podQueue = actorQueueOptions(inPod.runtimeTimeoutMs);
          expect(dev.queueOptions(), where).toEqual(podQueue);
          expect(queueOptionsFor(actor), where).toEqual(podQueue);
          compared.push(where);
        }
      });
    }
  }
});

const actorWith = (spec: Record<string, unknown>, name = 'slow') =>
  parseAsyncActor({
    apiVersion: 'asya.sh/v1alpha1',
    kind: 'AsyncActor',
    metadata: { name },
    spec: {
      transport: 'rabbitmq',
      workload: { template: { spec: { containers: [{ name: 'asya-runtime', env: [{ name: 'ASYA_HANDLER', value: 'slow.process' }] }] } } },
      ...spec,
    },
  });

describe('the settings dev mode derives from a spec', () => {
  const defaultMs = parseDuration(DEFAULT_RUNTIME_TIMEOUT);

  test('timeout.processing 0 and an absent timeout give the default runtime timeout, never 0s', () => {
    expect(devActor(actorWith({ timeout: { processing: 0 } })).config.runtimeTimeoutMs).toBe(defaultMs);
    expect(devActor(actorWith({})).config.runtimeTimeoutMs).toBe(defaultMs);
    expect(devActor(actorWith({ timeout: { processing: 7 } })).config.runtimeTimeoutMs).toBe(7000);
  });

  test('spec.sidecar.env applies in dev as in the pod, and the controller declares the queue by it too', () => {
    const actor = actorWith({ timeout: { processing: 0 }, sidecar: { env: [{ name: 'ASYA_RUNTIME_TIMEOUT', value: '90s' }, { name: 'ASYA_CONCURRENCY', value: '3' }] } });
    const dev = devActor(actor);
    expect(dev.config.runtimeTimeoutMs).toBe(90_000);
    expect(dev.config.concurrency).toBe(3);
    expect(queueOptionsFor(actor)).toEqual(actorQueueOptions(90_000));
    expect(dev.queueOptions()).toEqual(queueOptionsFor(actor));
  });

  test('end actors renamed in the environment stay renamed: the spec settings do not undo them', () => {
    const env = { ASYA_ACTOR_HAPPY_END: 'done', ASYA_ACTOR_ERROR_END: 'oops' };
    expect(devActor(actorWith({}), env).config).toMatchObject({ happyEnd: 'done', errorEnd: 'oops', isEndActor: false });
    expect(devActor(actorWith({}, 'done'), env).config.isEndActor).toBe(true);
  });

  test('a spec.sidecar.env variable from a Secret is named once: dev mode takes it from the environment', () => {
    const actor = actorWith({ sidecar: { env: [{ name: 'ASYA_GATEWAY_TOKEN', valueFrom: { secretKeyRef: { name: 'gw', key: 'token' } } }] } });
    const said: string[] = [];
    const dev = devActor(actor, { ASYA_GATEWAY_TOKEN: 'from-shell' }, said);
    expect(dev.config.gatewayToken).toBe('from-shell');
    expect(said).toEqual([
      'actor slow: spec.sidecar.env ASYA_GATEWAY_TOKEN comes from a Secret or ConfigMap, which dev mode cannot read; dev mode uses the value in your environment',
    ]);
  });
});

test('asya dev runs an actor with timeout.processing 0 under the default timeout: its calls succeed', async () => {
  const example = copyExample('hello');
  const manifest = join(example.dir, 'actors/normalize.yaml');
  editFile(manifest, (text) => text.replace(/processing: \d+/, 'processing: 0'));
  expect(readFileSync(manifest, 'utf8')).toContain('processing: 0');
  const dev = await startDev(example.dir, ['--data-dir', join(example.dir, '.store')]);
  try {
    const run = await asya(['call', 'analyze_text', '--text', 'good news', '--gateway', dev.url]);
    expect(run.status, `${run.stderr}\n${dev.output()}`).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ title: 'Sentiment report' });
  } finally {
    expect(await dev.stop()).toBe(0);
    example.cleanup();
  }
}, 240_000);
