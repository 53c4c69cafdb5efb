/**
 * The AsyncActor resource (asyncactors.asya.sh/v1alpha1): field names and defaults of the original CRD
 * (docs/configuration.md, "AsyncActor"), plus `spec.retry`, the StatefulSet/Job workload kinds and the
 * scaling options our KEDA fixes need. This schema is the single source for validation, the generated CRD
 * (api/crd.ts), the KRM functions and `asya dev`.
 */
import { z } from 'zod';
import { isValidActorName, TRANSPORT_NAMES, type TransportName } from '../protocol/index.ts';
import { TerminalError } from '../protocol/errors.ts';
import { didYouMean } from './nearest-name.ts';

export const API_GROUP = 'asya.sh';
export const API_VERSION = 'v1alpha1';
export const KIND = 'AsyncActor';
export const RUNTIME_CONTAINER = 'asya-runtime';
export const SIDECAR_CONTAINER = 'asya-sidecar';
/** The brokers an actor may name: protocol/transports.ts, which transport/registry.ts implements. */
export const TRANSPORTS = TRANSPORT_NAMES;
export type { TransportName };
export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'Job'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];
/** Volumes the injected pod shape owns; a user volume with one of these names would be shadowed. */
export const RESERVED_VOLUMES = ['socket-dir', 'tmp', 'asya-runtime', 'asya-broker-credentials'] as const;

const int32 = () => z.number().int().max(2_147_483_647);

/**
 * An object of the CRD's own structure: a field it does not define is an error naming the nearest defined one
 * (`scaling.maxReplica` would otherwise be dropped without a word and the default used). Kubernetes' own
 * objects inside (the pod template's spec, containers, metadata) stay open: their fields are not ours to list.
 */
function strictObject<Shape extends z.ZodRawShape>(shape: Shape) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => `unknown field "${key}"${didYouMean(key, known)}`).join('; ')
        : undefined,
  });
}

const envVar = strictObject({
  name: z.string().min(1),
  value: z.string().optional(),
  valueFrom: z.record(z.string(), z.unknown()).optional(),
});
const container = z.looseObject({
  name: z.string().min(1),
  image: z.string().optional(),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  env: z.array(envVar).optional(),
});

export const retrySchema = strictObject({
    maxAttempts: int32().min(1).default(3).describe('Attempts in all, the first included, before the envelope goes to the DLQ.'),
    initialDelaySeconds: z.number().min(0).default(1).describe('Delay before the first retry.'),
    multiplier: z.number().min(1).default(2).describe('Each further retry waits this many times longer.'),
    maxDelaySeconds: z.number().min(0).default(300).describe('Upper bound of one delay.'),
    jitter: z.boolean().default(true).describe('Spread delays randomly by up to ±20% so retries do not arrive together.'),
    nonRetryableErrors: z
      .array(z.string())
      .default(['msg_parsing_error', 'parse_error', 'validation_error', 'route_mismatch'])
      .describe('Error types or codes that fail at once, without retries.'),
  })
  .describe('How error-end retries this actor’s failures (new; the original only stored errors).');

const scalingSchema = strictObject({
    enabled: z.boolean().default(false).describe('Create a KEDA ScaledObject (or ScaledJob for kind Job).'),
    minReplicas: int32().min(0).default(0),
    maxReplicas: int32().min(1).default(50),
    pollingInterval: int32().min(1).default(10).describe('Seconds between KEDA queue checks.'),
    cooldownPeriod: int32().min(0).default(60).describe('Seconds of an empty queue before scaling to zero.'),
    queueLength: int32().min(1).default(5).describe('Messages per replica.'),
    countInFlight: z
      .boolean()
      .default(true)
      .describe('Count messages being processed, not only waiting ones (RabbitMQ management API, SQS scaleOnInFlight).'),
    countDelayed: z.boolean().default(true).describe('SQS: count messages waiting out a retry delay (scaleOnDelayed).'),
    activationQueueLength: int32().min(0).optional().describe('Messages needed to scale up from zero (KEDA activation value).'),
    behavior: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('HPA behavior (scaleUp/scaleDown); default: up by 100% or 4 pods per 15 s, down by 50% per 15 s.'),
    advanced: strictObject({
        formula: z.string().optional(),
        target: z.string().optional(),
        activationTarget: z.string().optional(),
        metricType: z.enum(['AverageValue', 'Value', 'Utilization']).optional(),
        restoreToOriginalReplicaCount: z.boolean().optional(),
      })
      .optional()
      .describe('KEDA advanced.scalingModifiers; the queue trigger is named "queue" for formulas.'),
  })
  .optional();

const securitySchema = strictObject({
    restrictedRuntime: z
      .boolean()
      .default(true)
      .describe('Give the runtime container the restricted security context (non-root uid 1000, read-only root filesystem, no capabilities, no privilege escalation, RuntimeDefault seccomp) under any fields it sets itself. false: only its own.'),
    serviceAccountToken: z
      .boolean()
      .default(false)
      .describe('Mount the ServiceAccount token into the pod. Also on with a serviceAccountName (the template’s, or IRSA’s).'),
    brokerCredentials: z
      .enum(['env', 'files'])
      .default('env')
      .describe('How the sidecar gets the broker Secret: env vars, or files mounted from the Secret (ASYA_*_FILE).'),
  })
  .optional()
  .describe('Pod hardening; the defaults are the safe choice.');

export const asyncActorSpecSchema = strictObject({
    transport: z.string().min(1).describe(`${TRANSPORT_NAMES.slice(0, -1).join(', ')} or ${TRANSPORT_NAMES.at(-1)}.`),
    sidecar: strictObject({
        image: z.string().optional(),
        imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
        resources: z.record(z.string(), z.unknown()).optional(),
        env: z.array(envVar).optional(),
      })
      .optional(),
    timeout: strictObject({
        processing: int32().min(0).default(300).describe('Seconds one message may take (ASYA_RUNTIME_TIMEOUT).'),
        gracefulShutdown: int32().min(0).default(30).describe('Pod terminationGracePeriodSeconds; the sidecar drains within it.'),
      })
      .optional(),
    scaling: scalingSchema,
    retry: retrySchema.optional(),
    security: securitySchema,
    workload: strictObject({
      kind: z.enum(WORKLOAD_KINDS).default('Deployment'),
      replicas: int32().min(0).default(1).describe('Ignored when scaling is enabled.'),
      pythonExecutable: z.string().default('python3'),
      template: strictObject({
        metadata: z.record(z.string(), z.unknown()).optional(),
        spec: z.looseObject({
          containers: z.array(container).min(1),
          volumes: z.array(z.looseObject({ name: z.string() })).optional(),
        }),
      }),
    }),
  })
  // Also when other fields are already wrong: every problem of a manifest in one run, not one kind per fix.
  .superRefine((spec, ctx) => checkSpec(spec as unknown as LooseSpec, ctx), { when: (payload) => typeof payload.value === 'object' && payload.value !== null });

/** The spec as checkSpec may find it: when other fields failed to parse, any part may be missing or mistyped. */
interface LooseSpec {
  transport?: unknown;
  scaling?: { minReplicas?: unknown; maxReplicas?: unknown };
  workload?: { template?: { spec?: { containers?: unknown; volumes?: unknown } } };
}

type LooseContainer = { name?: unknown; command?: unknown; env?: Array<{ name?: unknown; value?: unknown; valueFrom?: unknown }> };

function checkSpec(spec: LooseSpec, ctx: z.RefinementCtx): void {
  const at = (...path: (string | number)[]) => ['workload', 'template', 'spec', ...path];
  if (typeof spec.transport === 'string' && !(TRANSPORTS as readonly string[]).includes(spec.transport)) {
    ctx.addIssue({ code: 'custom', path: ['transport'], message: `unknown transport "${spec.transport}": must be one of ${TRANSPORTS.join(', ')}` });
  }
  const podSpec = spec.workload?.template?.spec;
  if (!Array.isArray(podSpec?.containers)) return;
  const containers = podSpec.containers as Array<LooseContainer | null | undefined>;
  containers.forEach((c, i) => {
    if (c?.name === SIDECAR_CONTAINER) {
      ctx.addIssue({ code: 'custom', path: at('containers', i, 'name'), message: `container name "${SIDECAR_CONTAINER}" is reserved: Asya injects the sidecar itself` });
    }
  });
  const runtimes = containers.flatMap((c, i) => (c?.name === RUNTIME_CONTAINER ? [i] : []));
  if (runtimes.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      path: at('containers'),
      message: `must contain exactly one container named "${RUNTIME_CONTAINER}" (found ${runtimes.length})`,
    });
  }
  for (const i of runtimes) {
    const env = containers[i]?.env;
    if (!Array.isArray(env) || !env.some((e) => e?.name === 'ASYA_HANDLER' && (e.value || e.valueFrom))) {
      ctx.addIssue({
        code: 'custom',
        path: at('containers', i, 'env'),
        message: `the ${RUNTIME_CONTAINER} container needs an env entry ASYA_HANDLER: module.function (Python) or file.ts#export (TypeScript)`,
      });
    }
    if (containers[i]?.command !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: at('containers', i, 'command'),
        message: `the ${RUNTIME_CONTAINER} command is set by Asya (it starts the runtime); use workload.pythonExecutable or args instead`,
      });
    }
  }
  (Array.isArray(podSpec.volumes) ? (podSpec.volumes as Array<{ name?: unknown }>) : []).forEach((v, i) => {
    if (typeof v?.name === 'string' && (RESERVED_VOLUMES as readonly string[]).includes(v.name)) {
      ctx.addIssue({ code: 'custom', path: at('volumes', i, 'name'), message: `volume name "${v.name}" is reserved: Asya injects it` });
    }
  });
  const scaling = spec.scaling;
  if (typeof scaling?.minReplicas === 'number' && typeof scaling.maxReplicas === 'number' && scaling.minReplicas > scaling.maxReplicas) {
    ctx.addIssue({
      code: 'custom',
      path: ['scaling', 'minReplicas'],
      message: `minReplicas (${scaling.minReplicas}) must not exceed maxReplicas (${scaling.maxReplicas})`,
    });
  }
}

export const asyncActorSchema = z.object({
  apiVersion: z.literal(`${API_GROUP}/${API_VERSION}`),
  kind: z.literal(KIND),
  metadata: z.looseObject({
    name: z.string().refine(isValidActorName, 'must be a DNS label: lowercase letters, digits and -, at most 63 characters'),
    namespace: z.string().optional(),
  }),
  spec: asyncActorSpecSchema,
});

export type AsyncActor = z.infer<typeof asyncActorSchema>;
export type AsyncActorSpec = AsyncActor['spec'];
export type RetryPolicy = z.infer<typeof retrySchema>;

/** An invalid AsyncActor: terminal, since reading the same resource again gives the same answer. */
export class AsyncActorError extends TerminalError {
  override readonly name = 'AsyncActorError';
}

export interface AsyncActorIssue {
  /** Field path in the resource, e.g. `spec.workload.template.spec.containers[1].name`. */
  path: string;
  message: string;
}

export type AsyncActorValidation = { ok: true; actor: AsyncActor } | { ok: false; issues: AsyncActorIssue[] };

/** Validates and defaults an AsyncActor, reporting every problem with its field path. */
export function validateAsyncActor(value: unknown): AsyncActorValidation {
  const result = asyncActorSchema.safeParse(value);
  if (result.success) return { ok: true, actor: result.data };
  return {
    ok: false,
    issues: result.error.issues.map((i) => ({ path: fieldPath(i.path), message: / received undefined$/.test(i.message) ? 'is required' : i.message })),
  };
}

function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `${out ? '.' : ''}${String(key)}`;
  return out || '(root)';
}

/** Parses and defaults an AsyncActor; errors name the resource and every offending field path. */
export function parseAsyncActor(value: unknown, source = 'AsyncActor'): AsyncActor {
  const result = validateAsyncActor(value);
  if (result.ok) return result.actor;
  const name = (value as { metadata?: { name?: string } })?.metadata?.name;
  const problems = result.issues.map((i) => `${i.path}: ${i.message}`).join('; ');
  throw new AsyncActorError(`${source}${name ? ` (${name})` : ''} is not a valid AsyncActor: ${problems}`);
}

export function isAsyncActorResource(value: unknown): boolean {
  const v = value as { apiVersion?: unknown; kind?: unknown } | null;
  return v?.kind === KIND && typeof v.apiVersion === 'string' && v.apiVersion.startsWith(`${API_GROUP}/`);
}

/** The env of the runtime container as a plain map (literal values only). */
export function runtimeEnv(actor: AsyncActor): Record<string, string> {
  const runtime = actor.spec.workload.template.spec.containers.find((c) => c.name === RUNTIME_CONTAINER);
  if (!runtime) throw new AsyncActorError(`AsyncActor ${actor.metadata.name} has no container named ${RUNTIME_CONTAINER}`);
  return Object.fromEntries((runtime.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
}

/**
 * Which runtime serves the handler: `file#export` handlers are JavaScript/TypeScript (`asya runtime`),
 * `module.function` handlers are Python (asya_runtime.py). `asya dev` and the KRM functions agree on this.
 */
export function handlerLanguage(actor: AsyncActor): 'node' | 'python' {
  return (runtimeEnv(actor).ASYA_HANDLER ?? '').includes('#') ? 'node' : 'python';
}

/** The actor's transport; checkSpec has already refused any other value. */
export function transportOf(actor: AsyncActor): TransportName {
  return actor.spec.transport as TransportName;
}
