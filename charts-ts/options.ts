/**
 * What the platform charts are built from: a deployment pattern, the namespace and image, and the same
 * platform settings the KRM functions read (krm-functions/platform-config.ts), so the controller, the
 * crew and GitOps-rendered actors agree on broker, sidecar image and gateway URL.
 */
import { DEFAULT_IMAGE, FN_API_VERSION, platformSpecSchema, readPlatformConfig, type PlatformConfig } from '../krm-functions/platform-config.ts';
import type { z } from 'zod';
import type { TransportName } from '../api/index.ts';

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
  };
  monitoring?: {
    /** Labels Prometheus selects ServiceMonitors and PodMonitors by (kube-prometheus-stack: `release: <name>`). @default {} */
    labels?: Record<string, string>;
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
  monitoring: boolean;
  monitoringLabels: Record<string, string>;
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
  const platform = parsePlatform(settings);
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
    monitoring: pattern === 'full',
    monitoringLabels: options.monitoring?.labels ?? {},
    sharedQueues: multi,
  } satisfies Omit<ResolvedOptions, 'gateway'>;
  if (!multi) return [{ ...base, ...(gatewayHere ? { gateway } : {}) }];
  return options.clusters!.map((cluster, i) => ({ ...base, cluster, ...(gatewayHere && i === 0 ? { gateway } : {}) }));
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
