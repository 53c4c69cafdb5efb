/**
 * What the platform charts are built from: a deployment pattern, the namespace and image, and the same
 * platform settings the KRM functions read (krm-functions/platform-config.ts), so the controller, the
 * crew and GitOps-rendered actors agree on broker, sidecar image and gateway URL.
 */
import { DEFAULT_IMAGE, FN_API_VERSION, platformSpecSchema, readPlatformConfig, type PlatformConfig } from '../krm-functions/platform-config.ts';
import type { z } from 'zod';
import type { TransportName } from '../api/index.ts';
import { CREW_SETTINGS } from '../crew/settings.ts';
import { envName, pickSettings, readSettings, type Settings } from '../settings/index.ts';
import { collectorUrl, DEFAULT_BACKEND_ENDPOINTS, OTEL_BACKENDS, type OtelBackend } from './otel-collector-chart.ts';

export const PATTERNS = ['minimal', 'standard', 'full', 'multi-cluster'] as const;
export type Pattern = (typeof PATTERNS)[number];

/** Platform settings as a user writes them (every field optional), the `spec` of an AsyaPlatform. */
export type PlatformSettings = z.input<typeof platformSpecSchema>;

export interface SecretKey {
  name: string;
  key: string;
}

export interface PlatformOptions {
  /** @default 'minimal' */
  pattern?: Pattern;
  /** Where the controller, gateway, crew and trial services run. @default 'asya-system' */
  namespace?: string;
  /** The one image of this repository (controller, gateway, crew). @default DEFAULT_IMAGE (asya:<version>) */
  image?: string;
  /** @default 'IfNotPresent' */
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  /** The platform settings the controller applies to every actor (same schema as the KRM functionConfig). */
  platform?: PlatformSettings;
  /** The transport the gateway publishes on and the crew consumes from. @default 'rabbitmq' */
  transport?: TransportName;
  /** Add a single-replica RabbitMQ (and PostgreSQL where the pattern has a gateway). Not for production. @default false */
  trial?: boolean;
  /** Emit the Namespace object. @default true */
  createNamespace?: boolean;
  /** Namespaces the controller watches; empty: all (ClusterRoleBinding), else RoleBindings in each. @default [] */
  watchNamespaces?: string[];
  /** Cluster names for the multi-cluster pattern; the first also hosts the gateway. */
  clusters?: string[];
  gateway?: {
    /** Tools YAML (docs/gateway.md format); without it the gateway serves no tools. */
    tools?: string;
    /** @default 2 */
    replicas?: number;
    /** Secret holding the PostgreSQL URL. @default {name: 'asya-gateway-db', key: 'database-url'} */
    databaseSecret?: SecretKey;
    /**
     * Secret with the gateway's tokens: `internal-token` (sidecars, crew; required) and at least one of the
     * optional client keys `api-token` (shared), `client-tokens` (named, `name:token,...`) and `admin-token`.
     */
    tokenSecret?: string;
    /**
     * Run the gateway with every endpoint open (ASYA_GATEWAY_AUTH=none) instead of tokens. A gateway needs
     * one or the other. @default true for a trial without tokenSecret, else false
     */
    open?: boolean;
    /** The URL sidecars reach the gateway at; default: the in-cluster Service (required across clusters). */
    url?: string;
  };
  /**
   * Where the crew keeps results, errors and its once-only markers. One of `s3`, `resultsClaim` or
   * `ephemeralResults` is required (a trial defaults to `ephemeralResults`): the markers must outlive a pod
   * and be shared by every replica, or a redelivered envelope is stored and reported again.
   */
  crew?: {
    /** Store results and errors in S3 (or MinIO). */
    s3?: { bucket: string; endpoint?: string; region?: string; credentialsSecret?: string };
    /** An existing PersistentVolumeClaim mounted at CREW_RESULTS_MOUNT; ReadWriteMany, since the crew scales past one pod. */
    resultsClaim?: string;
    /** Accept the pod's /tmp: lost with the pod and not shared between replicas. For trials only. @default false */
    ephemeralResults?: boolean;
    /** Render the crew as Deployments through the AsyncActor construct instead of AsyncActor objects for the controller. @default false */
    expand?: boolean;
    /**
     * The fan-in crew actor (a route step that joins a fan-out's children, docs/crew.md): false leaves it out;
     * `policy` and `timeout` (a duration such as `10m`) become its ASYA_FAN_IN_POLICY and ASYA_FAN_IN_TIMEOUT.
     * Without a gateway the fan-in keeps its state in a PostgreSQL of its own: `databaseSecret` names the
     * Secret key holding its URL (ASYA_FAN_IN_DATABASE_URL); without one there, the fan-in is left out.
     * @default {} (deployed with a gateway, with the crew's defaults)
     */
    fanIn?: false | { policy?: string; timeout?: string; databaseSecret?: SecretKey };
  };
  monitoring?: {
    /** Labels Prometheus selects ServiceMonitors and PodMonitors by (kube-prometheus-stack: `release: <name>`). @default {} */
    labels?: Record<string, string>;
    /** The Prometheus that scrapes the sidecars: the gateway's console reads the actors' numbers from it (ASYA_GATEWAY_PROMETHEUS_URL). */
    prometheusUrl?: string;
    /** Label matchers for those queries, e.g. `namespace="ml-prod"` (ASYA_GATEWAY_PROMETHEUS_SELECTOR). */
    prometheusSelector?: string;
  };
  /**
   * The `full` pattern only: deploy an OpenTelemetry Collector that forwards the platform's spans to Jaeger
   * or Tempo; the platform's otlpEndpoint then defaults to it.
   */
  otelCollector?: {
    backend: OtelBackend;
    /** The backend's OTLP/gRPC `host:port`. @default DEFAULT_BACKEND_ENDPOINTS[backend] */
    endpoint?: string;
  };
}

export const DEFAULT_NAMESPACE = 'asya-system';
export const GATEWAY_NAME = 'asya-gateway';
export const CONTROLLER_NAME = 'asya-controller';
export const TRIAL_RABBITMQ_NAME = 'rabbitmq';
export const TRIAL_POSTGRES_NAME = 'asya-postgresql';
export const TRIAL_RABBITMQ_SECRET = 'asya-rabbitmq';
export const DEFAULT_DATABASE_SECRET: SecretKey = { name: 'asya-gateway-db', key: 'database-url' };

export interface ResolvedOptions {
  pattern: Pattern;
  namespace: string;
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  platform: PlatformConfig;
  transport: TransportName;
  trial: boolean;
  createNamespace: boolean;
  watchNamespaces: string[];
  cluster?: string;
  /** This cluster hosts the gateway (single-cluster patterns with one; the first cluster of multi-cluster with a URL). */
  gateway?: { tools?: string; replicas: number; databaseSecret: SecretKey; tokenSecret?: string; open: boolean };
  crew: NonNullable<PlatformOptions['crew']>;
  /** The fan-in actor's settings, checked by the crew's settings table; false: not deployed. */
  fanIn: false | Partial<Pick<Settings<typeof CREW_SETTINGS>, 'fanInPolicy' | 'fanInTimeoutMs'>>;
  /** Where a fan-in without a gateway keeps its state: the Secret key with its PostgreSQL URL. */
  fanInDatabase?: SecretKey;
  /** Why the fan-in is not deployed although it was not turned off (synth says so). */
  fanInLeftOut?: string;
  monitoring: boolean;
  monitoringLabels: Record<string, string>;
  /** Where the gateway's console reads the sidecars' metrics. */
  prometheus?: { url: string; selector?: string };
  otelCollector?: { backend: OtelBackend; endpoint: string };
  /**
   * The queues are shared with other clusters (multi-cluster): every cluster's controller declares them,
   * none deletes one when its copy of an actor goes (ASYA_QUEUE_DELETION=never), since another cluster
   * may still consume it.
   */
  sharedQueues: boolean;
}

export class PlatformOptionsError extends Error {
  override readonly name = 'PlatformOptionsError';
}

export function asFunctionConfig(platform: PlatformSettings | PlatformConfig) {
  return { apiVersion: FN_API_VERSION, kind: 'AsyaPlatform', metadata: { name: 'asya-platform' }, spec: platform };
}

export function parsePlatform(settings: PlatformSettings | undefined): PlatformConfig {
  const read = readPlatformConfig(asFunctionConfig(settings ?? {}));
  if (!read.ok) throw new PlatformOptionsError(read.results.map((r) => r.message).join('; '));
  return read.config;
}

const hasGateway = (pattern: Pattern) => pattern === 'standard' || pattern === 'full';

/**
 * The options for one cluster. Single-cluster patterns give one; multi-cluster gives one per cluster, each
 * on the shared broker, the first with the gateway when its external URL is known.
 */
export function resolveOptions(options: PlatformOptions = {}): ResolvedOptions[] {
  const pattern = options.pattern ?? 'minimal';
  if (!(PATTERNS as readonly string[]).includes(pattern)) throw new PlatformOptionsError(`unknown pattern "${pattern}": one of ${PATTERNS.join(', ')}`);
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const trial = options.trial ?? false;
  const transport = options.transport ?? 'rabbitmq';
  const settings = structuredClone(options.platform ?? {});
  const multi = pattern === 'multi-cluster';
  if (multi) checkMultiCluster(options, settings, transport);
  if (trial && transport === 'rabbitmq') {
    // The trial broker lives in the platform namespace; actors elsewhere must reach it by its full name.
    const rabbitmq = (settings.transports ??= {}).rabbitmq ??= {};
    rabbitmq.host ??= `${TRIAL_RABBITMQ_NAME}.${namespace}.svc.cluster.local`;
    rabbitmq.username ??= 'asya';
    rabbitmq.passwordSecretRef ??= { name: TRIAL_RABBITMQ_SECRET, key: 'password' };
    rabbitmq.managementUrl ??= `http://${TRIAL_RABBITMQ_NAME}.${namespace}.svc.cluster.local:15672`;
  }
  const gatewayHere = hasGateway(pattern) || (multi && options.gateway?.url !== undefined);
  // An explicit URL wins (a gateway elsewhere, or reached through an ingress); else the in-cluster Service.
  if (options.gateway?.url) settings.gatewayUrl = options.gateway.url;
  else if (gatewayHere) settings.gatewayUrl ??= `http://${GATEWAY_NAME}.${namespace}.svc.cluster.local`;
  if (options.gateway?.tokenSecret) settings.gatewayTokenSecretRef ??= { name: options.gateway.tokenSecret, key: 'internal-token' };
  if (options.image) ((settings.sidecar ??= {}).image ??= options.image);
  const otelCollector = collectorOf(options, pattern);
  if (otelCollector) settings.otlpEndpoint ??= collectorUrl(namespace);
  const platform = parsePlatform(settings);
  const fanIn = fanInPlacement(options.crew?.fanIn ?? {}, Boolean(platform.gatewayUrl));
  const open = options.gateway?.open ?? (trial && !options.gateway?.tokenSecret);
  if (gatewayHere && open && options.gateway?.tokenSecret) {
    throw new PlatformOptionsError('the gateway cannot be both open and guarded by the token Secret: drop --gateway-open or --gateway-token-secret');
  }
  if (gatewayHere && !open && !options.gateway?.tokenSecret) {
    throw new PlatformOptionsError('the gateway needs its tokens: --gateway-token-secret <Secret with internal-token and api-token, client-tokens or admin-token>, or --gateway-open to run it with every endpoint open to anyone who reaches it');
  }
  const gateway = {
    open,
    ...(options.gateway?.tools !== undefined ? { tools: options.gateway.tools } : {}),
    replicas: options.gateway?.replicas ?? 2,
    databaseSecret: options.gateway?.databaseSecret ?? DEFAULT_DATABASE_SECRET,
    ...(options.gateway?.tokenSecret ? { tokenSecret: options.gateway.tokenSecret } : {}),
  };
  const base = {
    pattern,
    namespace,
    image: options.image ?? DEFAULT_IMAGE,
    imagePullPolicy: options.imagePullPolicy ?? 'IfNotPresent',
    platform,
    transport,
    trial,
    createNamespace: options.createNamespace ?? true,
    watchNamespaces: options.watchNamespaces ?? [],
    crew: crewStorage(options.crew ?? {}, trial),
    ...fanIn,
    monitoring: pattern === 'full',
    monitoringLabels: options.monitoring?.labels ?? {},
    ...(options.monitoring?.prometheusUrl
      ? { prometheus: { url: options.monitoring.prometheusUrl, ...(options.monitoring.prometheusSelector ? { selector: options.monitoring.prometheusSelector } : {}) } }
      : {}),
    ...(otelCollector ? { otelCollector } : {}),
    sharedQueues: multi,
  } satisfies Omit<ResolvedOptions, 'gateway'>;
  if (!multi) return [{ ...base, ...(gatewayHere ? { gateway } : {}) }];
  return options.clusters!.map((cluster, i) => ({ ...base, cluster, ...(gatewayHere && i === 0 ? { gateway } : {}) }));
}

function collectorOf(options: PlatformOptions, pattern: Pattern): ResolvedOptions['otelCollector'] {
  const wanted = options.otelCollector;
  if (!wanted) return undefined;
  if (pattern !== 'full') throw new PlatformOptionsError(`--otel-collector comes with the full pattern, not ${pattern}: set the platform's otlpEndpoint to a collector of your own instead`);
  if (!(OTEL_BACKENDS as readonly string[]).includes(wanted.backend)) throw new PlatformOptionsError(`--otel-collector must be one of ${OTEL_BACKENDS.join(', ')}; got "${wanted.backend}"`);
  const endpoint = wanted.endpoint ?? DEFAULT_BACKEND_ENDPOINTS[wanted.backend];
  if (!/^[a-z0-9.-]+:\d+$/i.test(endpoint)) throw new PlatformOptionsError(`--otel-backend expects host:port (the backend's OTLP/gRPC port), got "${endpoint}"`);
  return { backend: wanted.backend, endpoint };
}

const FAN_IN_SETTINGS = pickSettings(CREW_SETTINGS, ['fanInPolicy', 'fanInTimeoutMs']);

/** The fan-in options read as its env would be, so a bad policy or timeout fails at synth, not in the pod. */
function fanInSettings(fanIn: NonNullable<NonNullable<PlatformOptions['crew']>['fanIn']>): ResolvedOptions['fanIn'] {
  if (fanIn === false) return false;
  const raw = { [envName(CREW_SETTINGS, 'fanInPolicy')]: fanIn.policy, [envName(CREW_SETTINGS, 'fanInTimeoutMs')]: fanIn.timeout };
  const { values, errors } = readSettings(FAN_IN_SETTINGS, raw);
  if (errors.length > 0) throw new PlatformOptionsError(`crew.fanIn: ${errors.join('; ')}`);
  return {
    ...(fanIn.policy !== undefined ? { fanInPolicy: values.fanInPolicy } : {}),
    ...(fanIn.timeout !== undefined ? { fanInTimeoutMs: values.fanInTimeoutMs } : {}),
  };
}

/**
 * Where the fan-in keeps its state: in the gateway's store when there is a gateway, else in the PostgreSQL
 * the options name. A fan-in with neither would fail every child, so it is left out, with the reason.
 */
function fanInPlacement(
  fanIn: NonNullable<NonNullable<PlatformOptions['crew']>['fanIn']>,
  gateway: boolean,
): Pick<ResolvedOptions, 'fanIn' | 'fanInDatabase' | 'fanInLeftOut'> {
  const settings = fanInSettings(fanIn);
  if (fanIn === false || settings === false) return { fanIn: false };
  if (gateway && fanIn.databaseSecret) {
    throw new PlatformOptionsError("crew.fanIn.databaseSecret (--crew-fan-in-database-secret) is for a platform without a gateway: with one, the fan-in keeps its state in the gateway's store");
  }
  if (fanIn.databaseSecret) return { fanIn: settings, fanInDatabase: fanIn.databaseSecret };
  if (gateway) return { fanIn: settings };
  return {
    fanIn: false,
    fanInLeftOut:
      'the fan-in crew actor is left out: without a gateway it keeps its state in a PostgreSQL of its own; give --crew-fan-in-database-secret <Secret>[:<key>] (crew.fanIn.databaseSecret) to deploy it, or --no-crew-fan-in to leave it out quietly',
  };
}

/** The crew's storage choice, checked: exactly one place, and a durable one unless asked otherwise. */
function crewStorage(crew: NonNullable<PlatformOptions['crew']>, trial: boolean): NonNullable<PlatformOptions['crew']> {
  const chosen = [crew.s3 && '--crew-s3-bucket', crew.resultsClaim && '--crew-results-pvc', crew.ephemeralResults && '--crew-ephemeral-results'].filter(Boolean);
  if (chosen.length > 1) throw new PlatformOptionsError(`the crew stores in one place; got ${chosen.join(' and ')}`);
  if (chosen.length === 1) return crew;
  if (trial) return { ...crew, ephemeralResults: true };
  throw new PlatformOptionsError(
    'the crew needs durable storage for results and its once-only markers: pass --crew-s3-bucket <bucket> (crew.s3) or ' +
      '--crew-results-pvc <claim> (crew.resultsClaim, a ReadWriteMany PersistentVolumeClaim). ' +
      "--crew-ephemeral-results (crew.ephemeralResults) keeps them in the pod's /tmp instead: lost with the pod, not shared between replicas",
  );
}

function checkMultiCluster(options: PlatformOptions, settings: PlatformSettings, transport: TransportName): void {
  const clusters = options.clusters ?? [];
  if (clusters.length < 2) throw new PlatformOptionsError('multi-cluster needs at least two cluster names (--clusters a,b)');
  const bad = clusters.find((c) => !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(c));
  if (bad !== undefined) throw new PlatformOptionsError(`cluster name "${bad}" must be a DNS label: it names an output folder and a label value`);
  if (new Set(clusters).size !== clusters.length) throw new PlatformOptionsError('cluster names must be unique');
  if (options.trial) throw new PlatformOptionsError('multi-cluster cannot use --trial: a broker inside one cluster is not a queue the others share');
  const host = settings.transports?.rabbitmq?.host;
  if (transport === 'rabbitmq' && (host === undefined || !host.includes('.'))) {
    throw new PlatformOptionsError(
      `multi-cluster needs a broker every cluster reaches: set transports.rabbitmq.host to its full DNS name in the platform settings (got ${host === undefined ? 'the in-cluster default "rabbitmq"' : JSON.stringify(host)})`,
    );
  }
}
