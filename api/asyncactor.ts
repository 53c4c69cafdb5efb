/**
 * The AsyncActor resource (asyncactors.asya.sh/v1alpha1): field names and defaults of the original CRD
 * (reference: original-controlplane.md §1), plus `spec.retry` and the StatefulSet/Job workload kinds.
 * This schema is the single source for validation, the CRD and `asya dev`.
 */
import { z } from 'zod';
import { isValidActorName } from '../protocol/index.ts';

export const API_GROUP = 'asya.sh';
export const API_VERSION = 'v1alpha1';
export const KIND = 'AsyncActor';
export const RUNTIME_CONTAINER = 'asya-runtime';
export const SIDECAR_CONTAINER = 'asya-sidecar';

const envVar = z.object({ name: z.string().min(1), value: z.string().optional(), valueFrom: z.record(z.string(), z.unknown()).optional() });
const container = z.looseObject({ name: z.string(), image: z.string().optional(), env: z.array(envVar).optional() });

export const retrySchema = z.object({
  maxAttempts: z.number().int().min(1).default(3),
  initialDelaySeconds: z.number().min(0).default(1),
  multiplier: z.number().min(1).default(2),
  maxDelaySeconds: z.number().min(0).default(300),
  jitter: z.boolean().default(true),
  nonRetryableErrors: z.array(z.string()).default(['msg_parsing_error', 'parse_error', 'validation_error', 'route_mismatch']),
});

export const asyncActorSpecSchema = z.object({
  transport: z.string().min(1),
  sidecar: z
    .object({
      image: z.string().optional(),
      imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
      resources: z.record(z.string(), z.unknown()).optional(),
      env: z.array(envVar).optional(),
    })
    .optional(),
  timeout: z.object({ processing: z.number().int().min(0).default(300), gracefulShutdown: z.number().int().min(0).default(30) }).optional(),
  scaling: z
    .object({
      enabled: z.boolean().default(false),
      minReplicas: z.number().int().min(0).default(0),
      maxReplicas: z.number().int().min(1).default(50),
      pollingInterval: z.number().int().min(1).default(10),
      cooldownPeriod: z.number().int().min(0).default(60),
      queueLength: z.number().int().min(1).default(5),
      advanced: z
        .object({
          formula: z.string().optional(),
          target: z.string().optional(),
          activationTarget: z.string().optional(),
          metricType: z.enum(['AverageValue', 'Value', 'Utilization']).optional(),
          restoreToOriginalReplicaCount: z.boolean().optional(),
        })
        .optional(),
    })
    .optional(),
  retry: retrySchema.optional(),
  workload: z.object({
    kind: z.enum(['Deployment', 'StatefulSet', 'Job']).default('Deployment'),
    replicas: z.number().int().min(0).default(1),
    pythonExecutable: z.string().default('python3'),
    template: z.object({
      metadata: z.record(z.string(), z.unknown()).optional(),
      spec: z.looseObject({ containers: z.array(container).min(1) }),
    }),
  }),
});

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
export type RetryPolicy = z.infer<typeof retrySchema>;

export class AsyncActorError extends Error {
  override readonly name = 'AsyncActorError';
}

/** Parses and defaults an AsyncActor; errors name the resource and every offending field path. */
export function parseAsyncActor(value: unknown, source = 'AsyncActor'): AsyncActor {
  const result = asyncActorSchema.safeParse(value);
  if (result.success) return result.data;
  const name = (value as { metadata?: { name?: string } })?.metadata?.name;
  const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  throw new AsyncActorError(`${source}${name ? ` (${name})` : ''} is not a valid AsyncActor: ${problems}`);
}

/** The env of the runtime container as a plain map (literal values only). */
export function runtimeEnv(actor: AsyncActor): Record<string, string> {
  const runtime = actor.spec.workload.template.spec.containers.find((c) => c.name === RUNTIME_CONTAINER);
  if (!runtime) throw new AsyncActorError(`AsyncActor ${actor.metadata.name} has no container named ${RUNTIME_CONTAINER}`);
  return Object.fromEntries((runtime.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
}
