/**
 * Platform settings shared by inject-sidecar and keda-scaler: transports, sidecar image, gateway URL and
 * queue prefix. They arrive as the functionConfig, either typed (`fn.asya.sh/v1alpha1` kinds InjectSidecar,
 * KedaScaler or AsyaPlatform, settings under `spec`) or as a ConfigMap whose `data` keys are dotted paths
 * into the same spec (`sidecar.image`, `transports.rabbitmq.host`), which is what
 * `kpt fn eval --exec fn -- key=value` sends. With no functionConfig at all every default applies, so a bare
 * run produces working manifests for an in-cluster RabbitMQ at rabbitmq:5672.
 */
import { z } from 'zod';
import { isPlainObject } from '../protocol/json.ts';
import { LOG_FORMATS } from '../protocol/log.ts';
import { LOG_FORMAT_ONLY } from '../protocol/settings.ts';
import { toEnv, type EnvVar } from '../settings/index.ts';
import { DEFAULT_QUEUE_POLICY } from '../protocol/queue-policy.ts';
import pkg from '../package.json' with { type: 'json' };
import type { Result } from './resource-list.ts';
import { transportsPlatformSchema } from '../transport/registry.ts';
import { configBool, configInt, secretKeyRef } from '../transport/platform-values.ts';

export const FN_API_VERSION = 'fn.asya.sh/v1alpha1';
export const CONFIG_KINDS = ['InjectSidecar', 'KedaScaler', 'AsyaPlatform'] as const;
/** The one image that runs `asya sidecar` (built from the repository's Dockerfile). */
export const DEFAULT_IMAGE = `asya:${pkg.version}`;

const bool = configBool;

const portNumber = () => configInt().pipe(z.number().min(1).max(65535));
const cidr = z.string().regex(/^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$|^[0-9a-fA-F:]+\/\d{1,3}$/, 'must be a CIDR such as 10.0.0.0/16');
const labelMap = z.record(z.string(), z.string());
/** Where traffic may go or come from: addresses outside the cluster, or pods selected by their labels. */
const peerSchema = z
  .strictObject({ cidr: cidr.optional(), namespaceLabels: labelMap.optional(), podLabels: labelMap.optional() })
  .refine((p) => (p.cidr !== undefined) !== (p.namespaceLabels !== undefined || p.podLabels !== undefined), 'give either cidr, or namespaceLabels and/or podLabels');

/** NetworkPolicies for the platform and its actors (`asya synth`; the KRM functions do not read them). */
const networkPoliciesSchema = z.strictObject({
  enabled: bool().default(false),
  /** The broker's address; the trial RabbitMQ when omitted with --trial. */
  broker: z.array(peerSchema).min(1).optional(),
  /** Default: transports.rabbitmq.port for RabbitMQ, 443 for SQS. */
  brokerPorts: z.array(portNumber()).min(1).optional(),
  /** The API server's endpoint addresses (`kubectl get endpoints kubernetes`): required for the controller's policy. */
  apiServer: z.array(cidr).min(1).optional(),
  apiServerPort: portNumber().default(443),
  /** Who may call the gateway besides actors: an ingress controller, an MCP client's namespace, Prometheus. */
  gatewayClients: z.array(peerSchema).default([]),
  /** Further destinations for actor pods (an LLM API, the crew's S3 endpoint). */
  actorEgress: z.array(z.strictObject({ cidr, ports: z.array(portNumber()).min(1) })).default([]),
});

/**
 * The claim check's payload store (docs/payloads.md), written into every sidecar and the gateway. A
 * directory store in a cluster needs a volume every one of those pods mounts: `volumeClaim` names a
 * ReadWriteMany PersistentVolumeClaim, mounted at the store's path.
 */
const payloadsSchema = z.strictObject({
  /** `s3://bucket/prefix` or an absolute path; empty: payloads travel inline. */
  store: z.string().default(''),
  /** Default per transport (docs/configuration.md, ASYA_PAYLOAD_OFFLOAD_BYTES). */
  offloadBytes: configInt().pipe(z.number().min(1)).optional(),
  s3Endpoint: z.string().optional(),
  s3Region: z.string().optional(),
  volumeClaim: z.string().optional(),
});
export type PayloadsConfig = z.infer<typeof payloadsSchema>;

/** The payload store's settings as values of the shared table entries (protocol/settings.ts, PAYLOAD_STORE_SETTINGS). */
export function payloadStoreValues(payloads: PayloadsConfig) {
  if (!payloads.store) return {};
  return {
    payloadStore: payloads.store,
    ...(payloads.offloadBytes !== undefined ? { payloadOffloadBytes: payloads.offloadBytes } : {}),
    ...(payloads.s3Endpoint ? { payloadS3Endpoint: payloads.s3Endpoint } : {}),
    ...(payloads.s3Region ? { payloadS3Region: payloads.s3Region } : {}),
  };
}

/** The volume and mount of a directory store on a shared claim, when the platform names one. */
export const PAYLOADS_VOLUME = 'asya-payloads';
export function payloadsVolume(payloads: PayloadsConfig): { volume: { name: string; persistentVolumeClaim: { claimName: string } }; mount: { name: string; mountPath: string } } | undefined {
  if (!payloads.store || payloads.store.startsWith('s3://') || !payloads.volumeClaim) return undefined;
  const mountPath = payloads.store.startsWith('file://') ? new URL(payloads.store).pathname : payloads.store;
  return { volume: { name: PAYLOADS_VOLUME, persistentVolumeClaim: { claimName: payloads.volumeClaim } }, mount: { name: PAYLOADS_VOLUME, mountPath } };
}

export const platformSpecSchema = z.strictObject({
  sidecar: z
    .strictObject({
      image: z.string().min(1).default(DEFAULT_IMAGE),
      imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
      resources: z.record(z.string(), z.unknown()).optional(),
      logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    })
    .prefault({}),
  /**
   * ASYA_LOG_FORMAT of every component the platform deploys: the controller, the gateway, the crew, and every
   * actor's sidecar and runtime (an actor's own ASYA_LOG_FORMAT wins). `json`: one JSON object per line.
   */
  logFormat: z.enum(LOG_FORMATS).default('text'),
  /** Where sidecars report progress; empty: no progress reports (the original's behaviour without a URL). */
  gatewayUrl: z.string().default(''),
  gatewayTokenSecretRef: secretKeyRef.optional(),
  /**
   * An OTLP/HTTP collector (`http://otel-collector:4318`): every sidecar, the crew and the gateway export
   * their spans there (OTEL_EXPORTER_OTLP_ENDPOINT). Empty: no tracing.
   */
  otlpEndpoint: z.union([z.literal(''), z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://otel-collector:4318' })]).default(''),
  /** Prepended to every physical queue name (ASYA_QUEUE_PREFIX); lets namespaces or teams share one broker. */
  queuePrefix: z.string().regex(/^[a-z0-9-]*$/, 'lowercase letters, digits and - only').default(''),
  /** One block per broker of transport/registry.ts, each with its defaults. */
  transports: transportsPlatformSchema.prefault({}),
  /**
   * Keep AsyncActors in the output as objects to apply (for a cluster that has the CRD and wants
   * `kubectl get asyas`); by default they are marked local-config so kustomize and kpt live apply skip them.
   */
  keepAsyncActors: bool().default(false),
  payloads: payloadsSchema.prefault({}),
  networkPolicies: networkPoliciesSchema.optional(),
});

export type PlatformConfig = z.infer<typeof platformSpecSchema>;

/**
 * The platform's ASYA_LOG_FORMAT for a container; nothing for the default (`text`), so the manifests of a
 * platform that does not ask for JSON stay as they were.
 */
export function platformLogEnv(platform: Pick<PlatformConfig, 'logFormat'>): EnvVar[] {
  return toEnv(LOG_FORMAT_ONLY, { logFormat: platform.logFormat }, { omitDefaults: true });
}

/** A ConfigMap's flat `data` becomes a nested spec; a value written as a JSON object or list is parsed. */
function specFromConfigMapData(data: Record<string, unknown>): Record<string, unknown> {
  const spec: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(data)) {
    const path = key.split('.');
    let node = spec;
    for (const part of path.slice(0, -1)) node = (node[part] = isPlainObject(node[part]) ? node[part] : {}) as Record<string, unknown>;
    node[path.at(-1)!] = typeof raw === 'string' && /^[[{]/.test(raw.trim()) ? parseJson(raw) : raw;
  }
  return spec;
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw; // the schema then reports the field as the wrong type, naming it
  }
}

function describeIssue(issue: z.core.$ZodIssue): { path: string; message: string } {
  const path = ['spec', ...issue.path.map(String)];
  if (issue.code === 'unrecognized_keys') {
    return { path: [...path, issue.keys[0]!].join('.'), message: `unknown setting${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}` };
  }
  return { path: path.join('.'), message: / received undefined$/.test(issue.message) ? 'is required' : issue.message };
}

export type PlatformConfigResult = { ok: true; config: PlatformConfig } | { ok: false; results: Result[] };

export function readPlatformConfig(functionConfig: unknown): PlatformConfigResult {
  let spec: unknown = {};
  if (isPlainObject(functionConfig)) {
    const { apiVersion, kind } = functionConfig;
    if (kind === 'ConfigMap') spec = specFromConfigMapData(isPlainObject(functionConfig.data) ? functionConfig.data : {});
    else if (apiVersion === FN_API_VERSION && (CONFIG_KINDS as readonly unknown[]).includes(kind)) spec = functionConfig.spec ?? {};
    else {
      const message = `functionConfig must be a ConfigMap or a ${FN_API_VERSION} ${CONFIG_KINDS.join('/')}; got ${String(apiVersion)} ${String(kind)}`;
      return { ok: false, results: [{ severity: 'error', message }] };
    }
  }
  const parsed = platformSpecSchema.safeParse(spec);
  if (parsed.success) return { ok: true, config: parsed.data };
  return {
    ok: false,
    results: parsed.error.issues.map((issue) => {
      const { path, message } = describeIssue(issue);
      return { severity: 'error' as const, message: `functionConfig ${path}: ${message}`, field: { path } };
    }),
  };
}
