/** Each deployment pattern contains what it should and nothing more; the CRD is api/'s. */
import { describe, expect, test } from 'vitest';
import YAML from 'yaml';
import { asyncActorCrd } from '../api/crd.ts';
import { readPlatformConfig } from '../krm-functions/platform-config.ts';
import { transportEnv } from '../krm-functions/transport-env.ts';
import { CREW_CONCURRENCY, CREW_ROLES } from '../protocol/crew.ts';
import { FAN_IN_ACTOR } from '../protocol/fan-in.ts';
import { MIGRATION_JOB } from './gateway-chart.ts';
import { PlatformOptionsError, resolveOptions } from './options.ts';
import { appObjects, platformApps } from './platform.ts';
import { parseDuration as parseDurationMs } from '../settings/duration.ts';
import { at, containersOf, kindsAndNames, only, synthObjects, TEST_RESULTS_CLAIM, withCrewStorage } from '../test/support/charts.ts';

const CORE = [
  'CustomResourceDefinition/asyncactors.asya.sh',
  'Namespace/asya-system',
  'ServiceAccount/asya-controller',
  'ClusterRole/asya-controller',
  'ClusterRoleBinding/asya-controller',
  'Role/asya-controller-leader-election',
  'RoleBinding/asya-controller-leader-election',
  'ConfigMap/asya-platform',
  'Deployment/asya-controller',
  'Service/asya-controller-metrics',
  ...CREW_ROLES.filter((role) => role !== FAN_IN_ACTOR).map((role) => `AsyncActor/${role}`),
];
/** The fan-in crew actor: deployed where a gateway keeps its state (or a database given for it). */
const FAN_IN = [`AsyncActor/${FAN_IN_ACTOR}`];
const FAN_IN_DB = { name: 'fan-in-db', key: 'database-url' };
const TRIAL_RABBITMQ = ['Secret/asya-rabbitmq', 'Service/rabbitmq', 'StatefulSet/rabbitmq'];
const GATEWAY = ['ServiceAccount/asya-gateway', 'Deployment/asya-gateway', 'Service/asya-gateway', `Job/${MIGRATION_JOB}`];
const TRIAL_POSTGRES = ['Secret/asya-postgresql', 'Secret/asya-gateway-db', 'Service/asya-postgresql', 'StatefulSet/asya-postgresql'];
const MONITORING = ['ServiceMonitor/asya-gateway', 'ServiceMonitor/asya-controller', 'PodMonitor/asya-actors', 'ConfigMap/asya-dashboard'];
const sorted = (names: string[]) => [...names].sort();

/** The platform settings the controller will hand the KRM functions. */
function controllerPlatform(objects: ReturnType<typeof synthObjects>) {
  const data = (only(objects, 'ConfigMap', 'asya-platform') as unknown as { data: Record<string, string> }).data;
  const read = readPlatformConfig(YAML.parse(data['platform.yaml']!));
  if (!read.ok) throw new Error(JSON.stringify(read.results));
  return read.config;
}
const controllerEnv = (objects: ReturnType<typeof synthObjects>) =>
  Object.fromEntries((at(only(objects, 'Deployment', 'asya-controller'), 'spec', 'template', 'spec', 'containers') as { env: { name: string; value?: string }[] }[])[0]!.env.map((e) => [e.name, e.value]));

describe('the CRD', () => {
  test('is exactly api/’s asyncActorCrd()', () => {
    expect(only(synthObjects(), 'CustomResourceDefinition', 'asyncactors.asya.sh')).toEqual(asyncActorCrd());
  });
});

describe('minimal: CRD + queue', () => {
  test('CRD, namespace, controller and crew; the queue is the user’s broker', () => {
    expect(kindsAndNames(synthObjects({ pattern: 'minimal' }))).toEqual(sorted(CORE));
  });

  test('--trial adds a RabbitMQ, and the platform settings point at it', () => {
    const objects = synthObjects({ pattern: 'minimal', trial: true });
    expect(kindsAndNames(objects)).toEqual(sorted([...CORE, ...TRIAL_RABBITMQ]));
    const rabbitmq = controllerPlatform(objects).transports.rabbitmq;
    expect(rabbitmq).toMatchObject({
      host: 'rabbitmq.asya-system.svc.cluster.local',
      username: 'asya',
      passwordSecretRef: { name: 'asya-rabbitmq', key: 'password' },
      managementUrl: 'http://rabbitmq.asya-system.svc.cluster.local:15672',
    });
    expect(only(objects, 'StatefulSet', 'rabbitmq').metadata.annotations?.['asya.sh/trial-only']).toMatch(/not for production/);
  });

  test('--gateway-url points sidecars and crew at a gateway elsewhere, over the platform file’s', () => {
    const objects = synthObjects({ platform: { gatewayUrl: 'http://old' }, gateway: { url: 'https://gateway.example.com' } });
    expect(controllerPlatform(objects).gatewayUrl).toBe('https://gateway.example.com');
    expect(kindsAndNames(objects)).toEqual(sorted([...CORE, ...FAN_IN]));
  });

  test('the crew AsyncActors survive ArgoCD’s dry run before the CRD exists', () => {
    const actor = only(synthObjects(), 'AsyncActor', 'happy-end');
    expect(actor.metadata.annotations?.['argocd.argoproj.io/sync-options']).toBe('SkipDryRunOnMissingResource=true');
  });

  test('no gateway: sidecars and crew report progress nowhere', () => {
    const objects = synthObjects({ pattern: 'minimal' });
    expect(controllerPlatform(objects).gatewayUrl).toBe('');
    expect(JSON.stringify(only(objects, 'AsyncActor', 'happy-end'))).not.toContain('ASYA_GATEWAY_URL');
  });

  test('a user-set broker is kept as given, and the controller gets its env', () => {
    const objects = synthObjects({ platform: { transports: { rabbitmq: { host: 'mq.example.com', passwordSecretRef: { name: 'mq', key: 'pw' } } } } });
    expect(controllerPlatform(objects).transports.rabbitmq.host).toBe('mq.example.com');
    expect(controllerEnv(objects)).toMatchObject({ ASYA_TRANSPORT: 'rabbitmq', ASYA_RABBITMQ_HOST: 'mq.example.com', ASYA_AWS_REGION: 'us-east-1' });
    expect(JSON.stringify(only(objects, 'Deployment', 'asya-controller'))).toContain('{"name":"ASYA_RABBITMQ_PASSWORD","valueFrom":{"secretKeyRef":{"key":"pw","name":"mq"}}}');
  });
});

describe('standard: + gateway and PostgreSQL', () => {
  test('gateway objects; PostgreSQL is the user’s, referenced by Secret', () => {
    const objects = synthObjects({ pattern: 'standard', gateway: { open: true } });
    expect(kindsAndNames(objects)).toEqual(sorted([...CORE, ...FAN_IN, ...GATEWAY]));
    const gateway = JSON.stringify(only(objects, 'Deployment', 'asya-gateway'));
    expect(gateway).toContain('{"name":"ASYA_DATABASE_URL","valueFrom":{"secretKeyRef":{"key":"database-url","name":"asya-gateway-db"}}}');
    expect(gateway).toContain('{"name":"ASYA_GATEWAY_AUTO_MIGRATE","value":"false"}');
    expect(gateway).not.toContain('ASYA_CONFIG_PATH');
  });

  test('--trial adds RabbitMQ and PostgreSQL with the gateway’s database Secret', () => {
    const objects = synthObjects({ pattern: 'standard', trial: true });
    expect(kindsAndNames(objects)).toEqual(sorted([...CORE, ...FAN_IN, ...TRIAL_RABBITMQ, ...GATEWAY, ...TRIAL_POSTGRES]));
    const url = at(only(objects, 'Secret', 'asya-gateway-db'), 'stringData', 'database-url');
    expect(url).toBe('postgres://asya:asya-trial-only@asya-postgresql.asya-system.svc.cluster.local:5432/asya?sslmode=disable');
  });

  test('the migration Job runs `asya gateway migrate` against the same database', () => {
    const job = only(synthObjects({ pattern: 'standard', gateway: { open: true } }), 'Job', MIGRATION_JOB);
    const container = (at(job, 'spec', 'template', 'spec', 'containers') as Record<string, unknown>[])[0]!;
    expect(container.args).toEqual(['gateway', 'migrate']);
    expect(JSON.stringify(container.env)).toContain('asya-gateway-db');
  });

  test('a tools file becomes a mounted ConfigMap and ASYA_CONFIG_PATH', () => {
    const tools = 'tools:\n- name: echo\n  route: [echo]\n';
    const objects = synthObjects({ pattern: 'standard', gateway: { tools, open: true } });
    expect(kindsAndNames(objects)).toEqual(sorted([...CORE, ...FAN_IN, ...GATEWAY, 'ConfigMap/asya-gateway-tools']));
    expect(at(only(objects, 'ConfigMap', 'asya-gateway-tools'), 'data', 'tools.yaml')).toBe(tools);
    expect(JSON.stringify(only(objects, 'Deployment', 'asya-gateway'))).toContain('{"name":"ASYA_CONFIG_PATH","value":"/etc/asya/tools/tools.yaml"}');
  });

  test('sidecars and crew report to the gateway’s Service; tokens come from the token Secret', () => {
    const objects = synthObjects({ pattern: 'standard', gateway: { tokenSecret: 'asya-tokens' } });
    const platform = controllerPlatform(objects);
    expect(platform.gatewayUrl).toBe('http://asya-gateway.asya-system.svc.cluster.local');
    expect(platform.gatewayTokenSecretRef).toEqual({ name: 'asya-tokens', key: 'internal-token' });
    const crew = JSON.stringify(only(objects, 'AsyncActor', 'happy-end'));
    expect(crew).toContain('"value":"http://asya-gateway.asya-system.svc.cluster.local"');
    expect(crew).toContain('{"name":"ASYA_GATEWAY_TOKEN","valueFrom":{"secretKeyRef":{"key":"internal-token","name":"asya-tokens"}}}');
    const gateway = JSON.stringify(only(objects, 'Deployment', 'asya-gateway'));
    expect(gateway).toContain('{"name":"ASYA_GATEWAY_TOKEN","valueFrom":{"secretKeyRef":{"key":"internal-token","name":"asya-tokens"}}}');
    for (const [name, key] of [['ASYA_GATEWAY_API_TOKEN', 'api-token'], ['ASYA_GATEWAY_CLIENT_TOKENS', 'client-tokens'], ['ASYA_GATEWAY_ADMIN_TOKEN', 'admin-token']]) {
      expect(gateway).toContain(`{"name":"${name}","valueFrom":{"secretKeyRef":{"key":"${key}","name":"asya-tokens","optional":true}}}`);
    }
    expect(gateway).not.toContain('ASYA_GATEWAY_AUTH');
  });

  test('a gateway needs its tokens or an explicit open; a trial without tokens is open', () => {
    expect(() => resolveOptions({ pattern: 'standard' })).toThrow(/the gateway needs its tokens: --gateway-token-secret .* or --gateway-open/);
    expect(() => resolveOptions({ pattern: 'full', gateway: { open: true, tokenSecret: 's' } })).toThrow(/cannot be both open and guarded/);
    for (const options of [{ pattern: 'standard', trial: true }, { pattern: 'standard', gateway: { open: true } }] as const) {
      expect(JSON.stringify(only(synthObjects(options), 'Deployment', 'asya-gateway'))).toContain('{"name":"ASYA_GATEWAY_AUTH","value":"none"}');
    }
  });
});

describe('full: + Prometheus and Grafana', () => {
  test('ServiceMonitors, a PodMonitor for the sidecars and the dashboard', () => {
    expect(kindsAndNames(synthObjects({ pattern: 'full', gateway: { open: true } }))).toEqual(sorted([...CORE, ...FAN_IN, ...GATEWAY, ...MONITORING]));
  });

  test('the monitors select what the charts and the KRM functions label', () => {
    const objects = synthObjects({ pattern: 'full', gateway: { open: true }, monitoring: { labels: { release: 'prometheus' } } });
    const gatewayService = only(objects, 'Service', 'asya-gateway');
    const monitor = only(objects, 'ServiceMonitor', 'asya-gateway');
    expect(monitor.metadata.labels).toMatchObject({ release: 'prometheus' });
    const selector = at(monitor, 'spec', 'selector', 'matchLabels') as Record<string, string>;
    expect(gatewayService.metadata.labels).toMatchObject(selector);
    expect(at(gatewayService, 'spec', 'ports')).toEqual([expect.objectContaining({ name: at(monitor, 'spec', 'endpoints', '0', 'port') })]);
    const controllerService = only(objects, 'Service', 'asya-controller-metrics');
    expect(controllerService.metadata.labels).toMatchObject(at(only(objects, 'ServiceMonitor', 'asya-controller'), 'spec', 'selector', 'matchLabels') as Record<string, string>);
    const pods = only(objects, 'PodMonitor', 'asya-actors');
    expect(at(pods, 'spec', 'selector', 'matchExpressions')).toEqual([{ key: 'asya.sh/asya', operator: 'Exists' }]);
    expect(at(pods, 'spec', 'podMetricsEndpoints', '0', 'port')).toBe('metrics');
  });

  test('the dashboard ConfigMap is labelled for the Grafana sidecar and holds valid JSON', () => {
    const dashboard = only(synthObjects({ pattern: 'full', gateway: { open: true } }), 'ConfigMap', 'asya-dashboard');
    expect(dashboard.metadata.labels?.grafana_dashboard).toBe('1');
    const json = JSON.parse(at(dashboard, 'data', 'asya.json') as string) as { panels: unknown[]; uid: string };
    expect(json.uid).toBe('asya-overview');
    expect(json.panels.length).toBeGreaterThan(10);
  });
});

describe('multi-cluster: actors in several clusters on shared queues', () => {
  const shared = { transports: { rabbitmq: { host: 'mq.example.com', passwordSecretRef: { name: 'mq', key: 'password' } } } };

  test('each cluster gets the minimal platform on the shared broker; the first also the gateway', () => {
    const apps = platformApps(withCrewStorage({ pattern: 'multi-cluster', clusters: ['us-east', 'eu-west'], platform: shared, gateway: { url: 'https://asya.example.com', open: true } }), '/out');
    expect(apps.map((a) => [a.cluster, a.app.outdir])).toEqual([
      ['us-east', '/out/us-east'],
      ['eu-west', '/out/eu-west'],
    ]);
    const [east, west] = apps.map((a) => appObjects(a.app));
    expect(kindsAndNames(east!)).toEqual(sorted([...CORE, ...FAN_IN, ...GATEWAY]));
    expect(kindsAndNames(west!)).toEqual(sorted([...CORE, ...FAN_IN]));
    for (const objects of [east!, west!]) {
      expect(controllerPlatform(objects).transports.rabbitmq.host).toBe('mq.example.com');
      expect(controllerPlatform(objects).gatewayUrl).toBe('https://asya.example.com');
    }
    // Every cluster declares the shared queues; deleting an actor in one cluster must not delete its queue.
    for (const objects of [east!, west!]) {
      expect(controllerEnv(objects).ASYA_DISABLE_QUEUE_MANAGEMENT).toBeUndefined();
      expect(controllerEnv(objects).ASYA_QUEUE_DELETION).toBe('never');
    }
  });

  test('without a gateway URL no cluster runs a gateway', () => {
    const apps = platformApps(withCrewStorage({ pattern: 'multi-cluster', clusters: ['a', 'b', 'c'], platform: shared }));
    expect(apps.map((a) => kindsAndNames(appObjects(a.app)))).toEqual([sorted(CORE), sorted(CORE), sorted(CORE)]);
  });

  test('SQS is shared by nature', () => {
    expect(() => resolveOptions(withCrewStorage({ pattern: 'multi-cluster', clusters: ['a', 'b'], transport: 'sqs' }))).not.toThrow();
  });

  test.each([
    [{ clusters: ['a'] }, 'at least two cluster names'],
    [{ clusters: ['a', 'a'], platform: shared }, 'unique'],
    [{ clusters: ['A_b', 'c'], platform: shared }, 'DNS label'],
    [{ clusters: ['a', 'b'], platform: shared, trial: true }, 'cannot use --trial'],
    [{ clusters: ['a', 'b'] }, 'broker every cluster reaches'],
    [{ clusters: ['a', 'b'], platform: { transports: { rabbitmq: { host: 'rabbitmq' } } } }, 'full DNS name'],
  ])('refuses %j', (options, message) => {
    expect(() => resolveOptions({ pattern: 'multi-cluster', ...options })).toThrow(PlatformOptionsError);
    expect(() => resolveOptions({ pattern: 'multi-cluster', ...options })).toThrow(message);
  });
});

describe('crew storage', () => {
  const crewRuntime = (objects: ReturnType<typeof synthObjects>, role: string) => {
    const actor = only(objects, 'AsyncActor', role);
    const pod = at(actor, 'spec', 'workload', 'template', 'spec') as Record<string, unknown>;
    const runtime = (pod.containers as Array<{ env: Array<{ name: string; value?: string }>; volumeMounts?: unknown[] }>)[0]!;
    return { pod, runtime, env: Object.fromEntries(runtime.env.map((e) => [e.name, e.value])) };
  };

  test('refused without a durable place: the message names the flags', () => {
    for (const pattern of ['minimal', 'standard', 'full'] as const) {
      expect(() => resolveOptions({ pattern, gateway: { open: true } })).toThrow(PlatformOptionsError);
      expect(() => resolveOptions({ pattern, gateway: { open: true } })).toThrow(/--crew-s3-bucket <bucket> .* or --crew-results-pvc <claim> .*--crew-ephemeral-results/);
    }
  });

  test('one place only', () => {
    expect(() => resolveOptions({ crew: { s3: { bucket: 'b' }, resultsClaim: 'c' } })).toThrow('the crew stores in one place; got --crew-s3-bucket and --crew-results-pvc');
  });

  test('a claim is mounted into every crew runtime and is where they store', () => {
    const objects = synthObjects({ crew: { resultsClaim: 'results-rwx', fanIn: { databaseSecret: FAN_IN_DB } } });
    for (const role of CREW_ROLES) {
      const { pod, runtime, env } = crewRuntime(objects, role);
      expect(pod.volumes).toEqual([{ name: 'crew-results', persistentVolumeClaim: { claimName: 'results-rwx' } }]);
      expect(runtime.volumeMounts).toEqual([{ name: 'crew-results', mountPath: '/var/lib/asya/results' }]);
      expect(env.ASYA_RESULTS_DIR).toBe('/var/lib/asya/results');
    }
  });

  test('S3 stores in the bucket, with nothing mounted', () => {
    const { pod, env } = crewRuntime(synthObjects({ crew: { s3: { bucket: 'results' } } }), 'happy-end');
    expect(env.ASYA_S3_BUCKET).toBe('results');
    expect(env.ASYA_RESULTS_DIR).toBeUndefined();
    expect(pod.volumes).toBeUndefined();
  });

  test('a trial, or an explicit opt-in, keeps the pod’s /tmp', () => {
    for (const options of [{ trial: true }, { crew: { ephemeralResults: true } }]) {
      const { env, pod } = crewRuntime(synthObjects(options), 'happy-end');
      expect(env.ASYA_RESULTS_DIR).toBe('/tmp/asya-results');
      expect(pod.volumes).toBeUndefined();
    }
  });

  test(`the crew sidecars handle ${CREW_CONCURRENCY} messages at once, and KEDA adds a pod per ${CREW_CONCURRENCY} waiting`, () => {
    for (const role of CREW_ROLES) {
      const actor = only(synthObjects({ crew: { fanIn: { databaseSecret: FAN_IN_DB } } }), 'AsyncActor', role);
      expect(at(actor, 'spec', 'sidecar', 'env')).toContainEqual({ name: 'ASYA_CONCURRENCY', value: String(CREW_CONCURRENCY) });
      expect(at(actor, 'spec', 'scaling', 'queueLength')).toBe(CREW_CONCURRENCY);
    }
    const sidecar = containersOf(only(synthObjects({ crew: { expand: true } }), 'Deployment', 'happy-end')).find((c) => c.name === 'asya-sidecar');
    expect(sidecar?.env).toContainEqual({ name: 'ASYA_CONCURRENCY', value: String(CREW_CONCURRENCY) });
  });

  test('the test default is a claim (TEST_RESULTS_CLAIM)', () => {
    expect(crewRuntime(synthObjects(), 'error-end').pod.volumes).toEqual([{ name: 'crew-results', persistentVolumeClaim: { claimName: TEST_RESULTS_CLAIM } }]);
    expect(containersOf(only(synthObjects({ crew: { expand: true } }), 'Deployment', 'happy-end')).find((c) => c.name === 'asya-runtime')?.volumeMounts).toContainEqual({ name: 'crew-results', mountPath: '/var/lib/asya/results' });
  });
});

describe('the fan-in crew actor', () => {
  type Env = Array<{ name: string; value?: string; valueFrom?: unknown }>;
  const runtimeOf = (objects: ReturnType<typeof synthObjects>) =>
    (at(only(objects, 'AsyncActor', FAN_IN_ACTOR), 'spec', 'workload', 'template', 'spec', 'containers') as Array<{ image: string; env: Env }>)[0]!;
  const sidecarEnvOf = (objects: ReturnType<typeof synthObjects>) => at(only(objects, 'AsyncActor', FAN_IN_ACTOR), 'spec', 'sidecar', 'env') as Env;

  test('runs the crew handler from the asya image behind a sidecar in end-actor mode, reporting to the gateway', () => {
    const objects = synthObjects({ pattern: 'standard', gateway: { open: true }, image: 'registry.example.com/asya:9.9.9' });
    const runtime = runtimeOf(objects);
    expect(runtime.image).toBe('registry.example.com/asya:9.9.9');
    expect(runtime.env).toEqual(
      expect.arrayContaining([
        { name: 'ASYA_HANDLER', value: `/app/crew/${FAN_IN_ACTOR}.ts#handle` },
        { name: 'ASYA_HANDLER_MODE', value: 'envelope' },
        { name: 'ASYA_ENABLE_VALIDATION', value: 'false' },
        { name: 'ASYA_GATEWAY_URL', value: 'http://asya-gateway.asya-system.svc.cluster.local' },
      ]),
    );
    // The gateway's URL and token reach it exactly as they reach happy-end.
    const happyEnv = (at(only(objects, 'AsyncActor', 'happy-end'), 'spec', 'workload', 'template', 'spec', 'containers') as Array<{ env: Env }>)[0]!.env;
    const gatewayEnv = (env: Env) => env.filter((e) => e.name.startsWith('ASYA_GATEWAY_'));
    expect(gatewayEnv(runtime.env)).toEqual(gatewayEnv(happyEnv));
    // No policy or timeout given: the crew's own defaults apply, so nothing is written.
    expect(runtime.env.map((e) => e.name)).not.toContain('ASYA_FAN_IN_POLICY');
    expect(runtime.env.map((e) => e.name)).not.toContain('ASYA_FAN_IN_TIMEOUT');
    expect(sidecarEnvOf(objects)).toContainEqual({ name: 'ASYA_IS_END_ACTOR', value: 'true' });
  });

  test('happy-end and error-end get neither end-actor setting from the chart: inject-sidecar knows them by name', () => {
    for (const role of CREW_ROLES.filter((r) => r !== FAN_IN_ACTOR)) {
      const actor = only(synthObjects(), 'AsyncActor', role);
      expect(JSON.stringify(at(actor, 'spec'))).not.toContain('ASYA_IS_END_ACTOR');
      expect(JSON.stringify(at(actor, 'spec'))).not.toContain('ASYA_FAN_IN_');
    }
  });

  test('crew.fanIn sets its policy and timeout', () => {
    const runtime = runtimeOf(synthObjects({ pattern: 'standard', gateway: { open: true }, crew: { fanIn: { policy: 'partial', timeout: '90s' } } }));
    expect(runtime.env).toContainEqual({ name: 'ASYA_FAN_IN_POLICY', value: 'partial' });
    const timeout = runtime.env.find((e) => e.name === 'ASYA_FAN_IN_TIMEOUT')?.value;
    expect(timeout).toBeDefined();
    expect(parseDurationMs(timeout!)).toBe(90_000);
  });

  test('without a gateway: left out, with the reason, unless a database Secret is given for its state', () => {
    const [resolved] = resolveOptions({ crew: { ephemeralResults: true } });
    expect(resolved!.fanIn).toBe(false);
    expect(resolved!.fanInLeftOut).toMatch(/--crew-fan-in-database-secret/);
    expect(kindsAndNames(synthObjects())).not.toContain(`AsyncActor/${FAN_IN_ACTOR}`);

    const objects = synthObjects({ crew: { fanIn: { databaseSecret: FAN_IN_DB } } });
    const env = runtimeOf(objects).env;
    expect(env).toContainEqual({ name: 'ASYA_FAN_IN_DATABASE_URL', valueFrom: { secretKeyRef: FAN_IN_DB } });
    expect(env.map((e) => e.name)).not.toContain('ASYA_GATEWAY_URL');
    // It publishes the combined envelope itself, so its runtime reads the broker as the sidecar does.
    const sidecarTransport = transportEnv('rabbitmq', controllerPlatform(objects)).map((e) => e.name);
    expect(sidecarTransport).toContain('ASYA_TRANSPORT');
    expect(env.map((e) => e.name)).toEqual(expect.arrayContaining(sidecarTransport));
  });

  test('with a gateway, a database Secret for the fan-in is refused: the gateway keeps its state', () => {
    expect(() => resolveOptions({ pattern: 'standard', gateway: { open: true }, crew: { ephemeralResults: true, fanIn: { databaseSecret: FAN_IN_DB } } })).toThrow(/for a platform without a gateway/);
  });

  test('crew.fanIn: false leaves it out', () => {
    expect(kindsAndNames(synthObjects({ crew: { fanIn: false } }))).not.toContain(`AsyncActor/${FAN_IN_ACTOR}`);
    expect(kindsAndNames(synthObjects({ crew: { fanIn: false } }))).toContain('AsyncActor/happy-end');
  });

  test('a bad policy or timeout is refused at synth, naming the variable', () => {
    expect(() => resolveOptions({ crew: { ephemeralResults: true, fanIn: { policy: 'some' } } })).toThrow(PlatformOptionsError);
    expect(() => resolveOptions({ crew: { ephemeralResults: true, fanIn: { policy: 'some' } } })).toThrow(/crew\.fanIn: .*ASYA_FAN_IN_POLICY/);
    expect(() => resolveOptions({ crew: { ephemeralResults: true, fanIn: { timeout: 'soon' } } })).toThrow(/crew\.fanIn: .*ASYA_FAN_IN_TIMEOUT/);
  });

  test('expanded: a Deployment whose sidecar runs in end-actor mode and a ScaledObject on its queue, like the other crew actors', () => {
    const objects = synthObjects({ pattern: 'standard', gateway: { open: true }, crew: { expand: true } });
    const containers = containersOf(only(objects, 'Deployment', FAN_IN_ACTOR));
    expect(containers.find((c) => c.name === 'asya-sidecar')?.env).toContainEqual({ name: 'ASYA_IS_END_ACTOR', value: 'true' });
    const runtimeEnv = (containers.find((c) => c.name === 'asya-runtime')?.env ?? []) as Env;
    expect(runtimeEnv.filter((e) => e.name === 'ASYA_ENABLE_VALIDATION')).toEqual([{ name: 'ASYA_ENABLE_VALIDATION', value: 'false' }]);
    const scaled = (kind: string) => objects.filter((o) => o.kind === kind && o.metadata.name.includes(FAN_IN_ACTOR)).length;
    expect(scaled('ScaledObject')).toBe(objects.filter((o) => o.kind === 'ScaledObject' && o.metadata.name.includes('happy-end')).length);
    expect(scaled('ScaledObject')).toBeGreaterThan(0);
  });
});

describe('Services', () => {
  test.each(['minimal', 'standard', 'full'] as const)('%s --trial: each Service selects the pods of exactly one workload', (pattern) => {
    const objects = synthObjects({ pattern, trial: true });
    const workloads = objects.filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind));
    for (const service of objects.filter((o) => o.kind === 'Service')) {
      const selector = at(service, 'spec', 'selector') as Record<string, string>;
      const matching = workloads.filter((w) => {
        const labels = at(w, 'spec', 'template', 'metadata', 'labels') as Record<string, string>;
        return Object.entries(selector).every(([k, v]) => labels[k] === v);
      });
      expect(matching.map((w) => `${w.kind}/${w.metadata.name}`), `Service/${service.metadata.name}`).toHaveLength(1);
    }
  });
});

describe('options', () => {
  test('namespace and image reach every object and the sidecars', () => {
    const objects = synthObjects({ pattern: 'standard', gateway: { open: true }, namespace: 'platform', image: 'registry.example.com/asya:1.2.3' });
    const namespaced = objects.filter((o) => !['CustomResourceDefinition', 'Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind));
    expect(namespaced.every((o) => o.metadata.namespace === 'platform')).toBe(true);
    expect(JSON.stringify(objects)).not.toContain('asya:0.1.0');
    expect(controllerPlatform(objects).sidecar.image).toBe('registry.example.com/asya:1.2.3');
  });

  test('--no-namespace leaves the Namespace out', () => {
    expect(kindsAndNames(synthObjects({ createNamespace: false }))).not.toContain('Namespace/asya-system');
  });

  test('invalid platform settings name the field', () => {
    expect(() => resolveOptions({ platform: { transports: { rabbitmq: { port: 0 } } } })).toThrow(/transports\.rabbitmq\.port/);
  });
});
