/**
 * The AsyncActor CustomResourceDefinition, generated from the zod schemas in this folder so that the API
 * server, the KRM functions and `asya dev` validate the same fields. Names, short names, printer columns and
 * the status subresource are the original's (docs/deployment.md, "The CRD"); `api/crd/asyncactors.asya.sh.yaml` is this
 * function's output (`make crd` rewrites it, a test keeps it in sync).
 */
import YAML from 'yaml';
import { z } from 'zod';
import { API_GROUP, API_VERSION, asyncActorSpecSchema, KIND, TRANSPORTS } from './asyncactor.ts';
import { asyncActorStatusSchema } from './status.ts';

type Schema = Record<string, unknown>;

const INT32_MAX = 2_147_483_647;
const JS_SAFE_LIMITS = new Set([Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]);

/**
 * Turns a JSON Schema from zod into a Kubernetes structural schema: no `$schema`/`propertyNames`, no
 * `additionalProperties` beside `properties`, open objects marked `x-kubernetes-preserve-unknown-fields`,
 * and int32 fields given their format instead of an explicit maximum.
 */
export function toStructural(node: Schema): Schema {
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$schema' || key === 'propertyNames') continue;
    if ((key === 'maximum' || key === 'minimum') && JS_SAFE_LIMITS.has(value as number)) continue;
    if (key === 'properties') {
      out.properties = Object.fromEntries(Object.entries(value as Record<string, Schema>).map(([k, v]) => [k, toStructural(v)]));
    } else if (key === 'items') {
      out.items = toStructural(value as Schema);
    } else if (key === 'additionalProperties') {
      const open = typeof value === 'object' && value !== null && Object.keys(value).length === 0;
      if (open) out['x-kubernetes-preserve-unknown-fields'] = true;
      else if (typeof value === 'object' && value !== null && !node.properties) out.additionalProperties = toStructural(value as Schema);
    } else {
      out[key] = value;
    }
  }
  if (out.type === 'integer' && out.maximum === INT32_MAX) {
    delete out.maximum;
    out.format = 'int32';
  }
  return out;
}

function jsonSchema(schema: z.ZodType): Schema {
  return toStructural(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Schema);
}

/** Rules the API server can check cheaply; the container rules need the KRM functions or the controller. */
function specSchema(): Schema {
  const spec = jsonSchema(asyncActorSpecSchema);
  const properties = spec.properties as Record<string, Schema>;
  properties.transport!['x-kubernetes-validations'] = [
    { rule: `self in [${TRANSPORTS.map((t) => `'${t}'`).join(', ')}]`, message: `transport must be one of ${TRANSPORTS.join(', ')}` },
  ];
  properties.scaling!['x-kubernetes-validations'] = [
    {
      rule: '!has(self.minReplicas) || !has(self.maxReplicas) || self.minReplicas <= self.maxReplicas',
      message: 'minReplicas must not exceed maxReplicas',
    },
  ];
  // The pod template stays open like the original's: the API server does not re-validate a PodSpec here.
  const template = (properties.workload!.properties as Record<string, Schema>).template!;
  const templateProps = template.properties as Record<string, Schema>;
  templateProps.metadata = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  templateProps.spec!['x-kubernetes-preserve-unknown-fields'] = true;
  return spec;
}

const column = (name: string, jsonPath: string, type = 'string', priority?: number) => ({ name, type, jsonPath, ...(priority ? { priority } : {}) });

export function asyncActorCrd(): Schema {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `asyncactors.${API_GROUP}`, labels: { 'app.kubernetes.io/part-of': 'asya' } },
    spec: {
      group: API_GROUP,
      scope: 'Namespaced',
      names: { kind: KIND, listKind: `${KIND}List`, plural: 'asyncactors', singular: 'asyncactor', shortNames: ['asyncactor', 'asya', 'asyas'] },
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            column('Status', '.status.status'),
            column('Running', '.status.replicas', 'integer'),
            column('Failing', '.status.failingPods', 'integer'),
            column('Total', '.status.totalReplicas', 'integer'),
            column('Desired', '.status.desiredReplicas', 'integer'),
            column('Min', '.spec.scaling.minReplicas', 'integer'),
            column('Max', '.spec.scaling.maxReplicas', 'integer'),
            column('Last-Scale', '.status.lastScaleFormatted'),
            column('Age', '.metadata.creationTimestamp', 'date'),
            column('Workload', '.spec.workload.kind', 'string', 1),
            column('Transport', '.status.transportStatus', 'string', 1),
            column('Scaling', '.status.scalingMode', 'string', 1),
            column('Queued', '.status.queuedMessages', 'integer', 1),
            column('Processing', '.status.processingMessages', 'integer', 1),
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: 'An async actor: a queue, a sidecar and a runtime that runs your handler.',
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: specSchema(),
                status: jsonSchema(asyncActorStatusSchema),
              },
            },
          },
        },
      ],
    },
  };
}

export function crdYaml(): string {
  return `# Generated from api/asyncactor.ts and api/status.ts by \`make crd\`; do not edit.\n${YAML.stringify(asyncActorCrd(), { lineWidth: 0 })}`;
}
