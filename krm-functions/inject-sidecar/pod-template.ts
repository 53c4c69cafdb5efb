/**
 * The injected pod: the original's shape (docs/concepts.md, "How it maps to Kubernetes": containers asya-runtime + asya-sidecar, socket
 * dir /var/run/asya, ConfigMap asya-runtime mounted at /opt/asya/asya_runtime.py) with our fixes: a
 * liveness probe that restarts a hung runtime when the sidecar asks (sidecar/supervisor.ts), the actor's
 * retry policy for error-end, selector labels that cannot be overridden, and a non-root read-only sidecar.
 * For the Job kind the runtime becomes a native sidecar (an init container that keeps running) and the
 * sidecar the main container, which exits when its queue stays empty so the Job can complete.
 */
import { handlerLanguage, RUNTIME_CONTAINER, SIDECAR_CONTAINER, transportOf, type AsyncActor } from '../../api/index.ts';
import { isEndActor, LIVENESS_PROBE_SCRIPT, parseDuration, READINESS_PROBE_SCRIPT } from '../../protocol/index.ts';
import { RUNTIME_SETTINGS } from '../../runtime/settings.ts';
import { envName, toEnv } from '../../settings/index.ts';
import { SIDECAR_SETTINGS } from '../../sidecar/settings.ts';
import { payloadStoreValues, payloadsVolume, platformLogEnv, type PlatformConfig } from '../platform-config.ts';
import { TELEMETRY_SETTINGS } from '../../telemetry/settings.ts';
import { ASYA_UID, restrictedContainerSecurity } from '../security.ts';
import { sidecarSettings } from '../sidecar-settings.ts';
import { transportEnv, type EnvVar } from '../transport-env.ts';

export const SOCKET_DIR = '/var/run/asya';
export const RUNTIME_SCRIPT_PATH = '/opt/asya/asya_runtime.py';
export const RUNTIME_CONFIGMAP = 'asya-runtime';
export const RUNTIME_SCRIPT_KEY = 'asya_runtime.py';
/** Where the image built from our Dockerfile keeps the CLI; TypeScript handler images build FROM it. */
export const NODE_RUNTIME_COMMAND = ['node', '/app/dist/asya.js', 'runtime'];
export const METRICS_PORT = 8080;
/** With spec.security.brokerCredentials: files, the broker Secret's keys are files here, one per variable. */
export const BROKER_CREDENTIALS_DIR = '/var/run/secrets/asya/broker';
const BROKER_CREDENTIALS_VOLUME = 'asya-broker-credentials';
/** How long a Job's sidecar waits on an empty queue before it finishes (ASYA_EXIT_WHEN_IDLE). */
export const JOB_IDLE_EXIT = '30s';

type Container = Record<string, unknown> & { name: string; env?: EnvVar[]; volumeMounts?: unknown[] };
export type PodTemplate = { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: Record<string, unknown> };

/** Every actor pod carries it (value: the actor's name): the PodMonitor and the NetworkPolicies select by it. */
export const ACTOR_POD_LABEL = 'asya.sh/asya';
/** Kubernetes' recommended label for one instance of an application: for an actor, its name. */
export const INSTANCE_LABEL = 'app.kubernetes.io/instance';

export function selectorLabels(actor: AsyncActor): Record<string, string> {
  return { app: actor.metadata.name, [ACTOR_POD_LABEL]: actor.metadata.name, 'asya.sh/workload': actor.spec.workload.kind.toLowerCase() };
}

const execProbe = (script: string, timing: Record<string, number>) => ({ exec: { command: ['sh', '-c', script] }, ...timing });

function runtimeContainer(actor: AsyncActor, user: Container, nativeSidecar: boolean, platform: PlatformConfig): Container {
  const end = isEndActor(actor.metadata.name);
  const command = handlerLanguage(actor) === 'node' ? NODE_RUNTIME_COMMAND : [actor.spec.workload.pythonExecutable, RUNTIME_SCRIPT_PATH];
  const mounts = [
    { name: 'socket-dir', mountPath: SOCKET_DIR },
    { name: 'tmp', mountPath: '/tmp' },
    ...(handlerLanguage(actor) === 'python' ? [{ name: 'asya-runtime', mountPath: RUNTIME_SCRIPT_PATH, subPath: RUNTIME_SCRIPT_KEY, readOnly: true }] : []),
  ];
  return {
    ...user,
    command,
    env: [...platformLogEnv(platform).filter((e) => !user.env?.some((own) => own.name === e.name)), ...(user.env ?? []), ...toEnv(RUNTIME_SETTINGS, { socketDir: SOCKET_DIR, ...(end ? { validate: false } : {}) })],
    volumeMounts: [...(user.volumeMounts ?? []), ...mounts],
    ...runtimeSecurity(actor, user),
    ...(nativeSidecar ? { restartPolicy: 'Always' } : {}),
    startupProbe: user.startupProbe ?? execProbe(READINESS_PROBE_SCRIPT(SOCKET_DIR), { initialDelaySeconds: 3, periodSeconds: 2, timeoutSeconds: 3, failureThreshold: 150 }),
    livenessProbe: user.livenessProbe ?? execProbe(LIVENESS_PROBE_SCRIPT(SOCKET_DIR), { periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 }),
    readinessProbe: user.readinessProbe ?? execProbe(READINESS_PROBE_SCRIPT(SOCKET_DIR), { periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 }),
  };
}

/** Restricted unless the actor opts out; what the user's container sets itself wins, field by field. */
function runtimeSecurity(actor: AsyncActor, user: Container): { securityContext?: Record<string, unknown> } {
  const own = user.securityContext as Record<string, unknown> | undefined;
  if (actor.spec.security?.restrictedRuntime === false) return own ? { securityContext: own } : {};
  return { securityContext: { ...restrictedContainerSecurity(), ...own } };
}

/**
 * spec.security.brokerCredentials: files turns each broker variable read from a Secret into `<NAME>_FILE`,
 * a path in one projected volume; transport/factory.ts reads the file. Other variables stay as they are.
 */
function brokerCredentialsAsFiles(env: EnvVar[]): { env: EnvVar[]; volume?: Record<string, unknown> } {
  const sources: Array<{ secret: { name: string; items: Array<{ key: string; path: string }> } }> = [];
  const out = env.map((e): EnvVar => {
    const ref = e.valueFrom?.secretKeyRef as { name: string; key: string } | undefined;
    if (!ref) return e;
    sources.push({ secret: { name: ref.name, items: [{ key: ref.key, path: e.name }] } });
    return { name: `${e.name}_FILE`, value: `${BROKER_CREDENTIALS_DIR}/${e.name}` };
  });
  if (sources.length === 0) return { env };
  return { env: out, volume: { name: BROKER_CREDENTIALS_VOLUME, projected: { defaultMode: 0o440, sources } } };
}

function sidecarEnv(actor: AsyncActor, platform: PlatformConfig, gatewayUrl: string): EnvVar[] {
  const settings = sidecarSettings(actor);
  return [
    // The platform's spelling (`info`) as written; the sidecar reads any case.
    { name: envName(SIDECAR_SETTINGS, 'logLevel'), value: platform.sidecar.logLevel },
    ...platformLogEnv(platform),
    ...toEnv(SIDECAR_SETTINGS, { gatewayUrl }),
    ...toEnv(TELEMETRY_SETTINGS, { endpoint: platform.otlpEndpoint || undefined }),
    ...(platform.gatewayTokenSecretRef ? [{ name: envName(SIDECAR_SETTINGS, 'gatewayToken'), valueFrom: { secretKeyRef: { ...platform.gatewayTokenSecretRef } } }] : []),
    ...settings.actor,
    ...brokerEnv(actor, platform).env,
    ...toEnv(SIDECAR_SETTINGS, { socketDir: SOCKET_DIR, metricsAddr: { port: METRICS_PORT } }),
    ...settings.policy,
    ...toEnv(SIDECAR_SETTINGS, actor.spec.workload.kind === 'Job' ? { exitWhenIdleMs: parseDuration(JOB_IDLE_EXIT) } : {}),
    ...toEnv(SIDECAR_SETTINGS, payloadStoreValues(platform.payloads)),
    ...settings.own,
  ];
}

function brokerEnv(actor: AsyncActor, platform: PlatformConfig): { env: EnvVar[]; volume?: Record<string, unknown> } {
  const env = transportEnv(transportOf(actor), platform);
  return actor.spec.security?.brokerCredentials === 'files' ? brokerCredentialsAsFiles(env) : { env };
}

function sidecarContainer(actor: AsyncActor, platform: PlatformConfig, gatewayUrl: string): Container {
  const resources = actor.spec.sidecar?.resources ?? platform.sidecar.resources;
  const credentials = brokerEnv(actor, platform).volume;
  const httpProbe = (path: string, timing: Record<string, number>) => ({ httpGet: { path, port: 'metrics' }, ...timing });
  return {
    name: SIDECAR_CONTAINER,
    image: actor.spec.sidecar?.image ?? platform.sidecar.image,
    imagePullPolicy: actor.spec.sidecar?.imagePullPolicy ?? platform.sidecar.imagePullPolicy,
    args: ['sidecar'],
    env: sidecarEnv(actor, platform, gatewayUrl),
    ports: [{ name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' }],
    ...(resources ? { resources } : {}),
    livenessProbe: httpProbe('/healthz', { periodSeconds: 20, timeoutSeconds: 3, failureThreshold: 3 }),
    readinessProbe: httpProbe('/readyz', { periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 }),
    securityContext: restrictedContainerSecurity(),
    volumeMounts: [
      { name: 'socket-dir', mountPath: SOCKET_DIR },
      { name: 'tmp', mountPath: '/tmp' },
      ...(credentials ? [{ name: BROKER_CREDENTIALS_VOLUME, mountPath: BROKER_CREDENTIALS_DIR, readOnly: true }] : []),
      ...[payloadsVolume(platform.payloads)?.mount ?? []].flat(),
    ],
  };
}

/**
 * The ServiceAccount token is mounted only where something uses it: a pod with a serviceAccountName (the
 * template's, or the one IRSA injects) or an actor that asks (spec.security.serviceAccountToken). An
 * explicit automountServiceAccountToken in the template is kept as written.
 */
function serviceAccountToken(actor: AsyncActor, spec: Record<string, unknown>, serviceAccountName?: string): { automountServiceAccountToken?: boolean } {
  if (spec.automountServiceAccountToken !== undefined) return {};
  if (actor.spec.security?.serviceAccountToken || serviceAccountName || spec.serviceAccountName) return {};
  return { automountServiceAccountToken: false };
}

export interface InjectedPod {
  template: PodTemplate;
  /** Problems that still allow output (the user's labels were overridden, …). */
  warnings: { message: string; path: string }[];
}

/** The pod template for an actor, given the ServiceAccount it must use (IRSA) if any. */
export function injectPodTemplate(actor: AsyncActor, platform: PlatformConfig, serviceAccountName?: string): InjectedPod {
  const warnings: InjectedPod['warnings'] = [];
  const { metadata = {}, spec } = actor.spec.workload.template;
  const userLabels = (metadata.labels ?? {}) as Record<string, string>;
  const selector = selectorLabels(actor);
  for (const [key, value] of Object.entries(selector)) {
    if (userLabels[key] !== undefined && userLabels[key] !== value) {
      warnings.push({ message: `pod label ${key}=${userLabels[key]} replaced by ${value}: the workload selector needs it`, path: `spec.workload.template.metadata.labels.${key}` });
    }
  }
  const containers = spec.containers as Container[];
  const runtimeUser = containers.find((c) => c.name === RUNTIME_CONTAINER)!;
  const others = containers.filter((c) => c.name !== RUNTIME_CONTAINER);
  const userEnv = Object.fromEntries((runtimeUser.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
  const gatewayUrl = platform.gatewayUrl || userEnv.ASYA_GATEWAY_URL || '';
  const isJob = actor.spec.workload.kind === 'Job';
  const runtime = runtimeContainer(actor, runtimeUser, isJob, platform);
  const sidecar = sidecarContainer(actor, platform, gatewayUrl);
  const volumes = [
    ...((spec.volumes as unknown[] | undefined) ?? []),
    { name: 'socket-dir', emptyDir: {} },
    { name: 'tmp', emptyDir: {} },
    ...(handlerLanguage(actor) === 'python' ? [{ name: 'asya-runtime', configMap: { name: RUNTIME_CONFIGMAP, defaultMode: 0o755 } }] : []),
    ...[brokerEnv(actor, platform).volume ?? []].flat(),
    ...[payloadsVolume(platform.payloads)?.volume ?? []].flat(),
  ];
  const grace = actor.spec.timeout?.gracefulShutdown;
  const podSpec: Record<string, unknown> = {
    ...spec,
    ...(isJob
      ? { initContainers: [...((spec.initContainers as unknown[] | undefined) ?? []), runtime], containers: [sidecar, ...others], restartPolicy: spec.restartPolicy ?? 'Never' }
      : { containers: [...containers.map((c) => (c.name === RUNTIME_CONTAINER ? runtime : c)), sidecar] }),
    volumes,
    // The socket is 0660: with fsGroup the socket dir is group-owned and setgid, so a runtime running as
    // root (most stock images) still creates a socket the non-root sidecar (group 1000) can open.
    securityContext: { fsGroup: ASYA_UID, ...((spec.securityContext as Record<string, unknown> | undefined) ?? {}) },
    terminationGracePeriodSeconds: grace && grace > 0 ? grace : 30,
    ...(serviceAccountName ? { serviceAccountName } : {}),
    ...serviceAccountToken(actor, spec, serviceAccountName),
  };
  const annotations = metadata.annotations as Record<string, string> | undefined;
  return {
    // The instance label lets log and metric pipelines group an actor's pods; the user may name it otherwise.
    template: { metadata: { ...metadata, labels: { [INSTANCE_LABEL]: actor.metadata.name, ...userLabels, ...selector }, ...(annotations ? { annotations } : {}) }, spec: podSpec },
    warnings,
  };
}
