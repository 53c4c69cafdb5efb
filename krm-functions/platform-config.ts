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
import { DEFAULT_QUEUE_POLICY } from '../protocol/queue-policy.ts';
import pkg from '../package.json' with { type: 'json' };
import type { Result } from './resource-list.ts';

export const FN_API_VERSION = 'fn.asya.sh/v1alpha1';
export const CONFIG_KINDS = ['InjectSidecar', 'KedaScaler', 'AsyaPlatform'] as const;
/** The one image that runs `asya sidecar` (built from the repository's Dockerfile). */
export const DEFAULT_IMAGE = `asya:${pkg.version}`;

/** ConfigMap values are strings; numbers and booleans in it are accepted in their string form too. */
const int = () => z.preprocess((v) => (typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v), z.number().int());
const bool = () => z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());

const secretKeyRef = z.object({ name: z.string().min(1), key: z.string().min(1) });

/** protocol/queue-policy.ts: who may create an actor's queue, and its dead-letter queue. Per transport. */
const queuePolicySchema = z
  .strictObject({
    /** false: nobody creates queues (sidecars, crew and controller only check that they exist). */
    autoCreate: bool().default(DEFAULT_QUEUE_POLICY.autoCreate),
    dlq: z
      .strictObject({
        enabled: bool().default(DEFAULT_QUEUE_POLICY.dlq.enabled),
        /** Deliveries before a message moves to asya-<actor>-dlq (RabbitMQ delivery limit, SQS maxReceiveCount). */
        maxDeliveries: int().pipe(z.number().min(1)).default(DEFAULT_QUEUE_POLICY.dlq.maxDeliveries),
        /** Keep dead letters this many days (SQS allows at most 14). */
        retentionDays: int().pipe(z.number().min(1)).optional(),
      })
      .prefault({}),
  })
  .prefault({});

const rabbitmqSchema = z.object({
  host: z.string().min(1).default('rabbitmq'),
  port: int().pipe(z.number().min(1).max(65535)).default(5672),
  username: z.string().min(1).default('guest'),
  /** Without it the sidecar and KEDA use RabbitMQ's default password (guest): fine for a trial broker only. */
  passwordSecretRef: secretKeyRef.optional(),
  usernameSecretRef: secretKeyRef.optional(),
  vhost: z.string().default('/'),
  exchange: z.string().min(1).optional(),
  /** HTTP management API (e.g. http://rabbitmq:15672). Lets KEDA count unacknowledged messages too. */
  managementUrl: z.url().optional(),
  queues: queuePolicySchema,
});

const sqsSchema = z.object({
  region: z.string().min(1).default('us-east-1'),
  accountId: z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id').optional(),
  endpoint: z.url().optional(),
  /** IRSA: each actor gets ServiceAccount asya-<actor> annotated with this role. */
  actorRoleArn: z.string().startsWith('arn:').optional(),
  credentials: z.object({ accessKeyIdSecretRef: secretKeyRef, secretAccessKeySecretRef: secretKeyRef }).optional(),
  visibilityTimeout: int().pipe(z.number().min(1)).optional(),
  waitTimeSeconds: int().pipe(z.number().min(1).max(20)).optional(),
  queues: queuePolicySchema.refine((q) => (q.dlq.retentionDays ?? 0) <= 14, { message: 'SQS keeps messages at most 14 days (dlq.retentionDays)' }),
  /** Tags on every actor queue and DLQ, besides asya.sh/actor and asya.sh/namespace (the controller sets them). */
  tags: z.record(z.string(), z.string()).optional(),
});

export const platformSpecSchema = z.strictObject({
  sidecar: z
    .strictObject({
      image: z.string().min(1).default(DEFAULT_IMAGE),
      imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
      resources: z.record(z.string(), z.unknown()).optional(),
      logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    })
    .prefault({}),
  /** Where sidecars report progress; empty: no progress reports (the original's behaviour without a URL). */
  gatewayUrl: z.string().default(''),
  gatewayTokenSecretRef: secretKeyRef.optional(),
  /** Prepended to every physical queue name (ASYA_QUEUE_PREFIX); lets namespaces or teams share one broker. */
  queuePrefix: z.string().regex(/^[a-z0-9-]*$/, 'lowercase letters, digits and - only').default(''),
  transports: z
    .strictObject({ rabbitmq: rabbitmqSchema.prefault({}), sqs: sqsSchema.prefault({}) })
    .prefault({}),
  /**
   * Keep AsyncActors in the output as objects to apply (for a cluster that has the CRD and wants
   * `kubectl get asyas`); by default they are marked local-config so kustomize and kpt live apply skip them.
   */
  keepAsyncActors: bool().default(false),
});

export type PlatformConfig = z.infer<typeof platformSpecSchema>;


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
