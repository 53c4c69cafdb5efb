/**
 * keda-scaler: AsyncActors with `spec.scaling.enabled` in, KEDA objects out: a ScaledObject (or, for the
 * Job kind, a ScaledJob whose job template is inject-sidecar's pod) and the TriggerAuthentication its
 * trigger needs. Our fixes over the original (docs/deployment.md, "Scaling and draining"): in-flight work is counted (RabbitMQ through
 * the management API, SQS scaleOnInFlight/scaleOnDelayed), the trigger is named so scalingModifiers
 * formulas can refer to it, StatefulSets are real targets, and the HPA behaviour is the seed's policy.
 * Actors with scaling off produce nothing, and what an earlier run produced for them is removed.
 */
import { SIDECAR_CONTAINER, transportOf, type AsyncActor } from '../../api/index.ts';
import { collectActors, generated, markActorsLocal, replaceGenerated, resultFor } from '../actors.ts';
import { serviceAccountFor } from '../inject-sidecar/transform.ts';
import { injectPodTemplate } from '../inject-sidecar/pod-template.ts';
import { readPlatformConfig, type PlatformConfig } from '../platform-config.ts';
import type { FunctionOutput, KubeObject, Result } from '../resource-list.ts';
import { physicalQueueName } from '../transport-env.ts';
import { TRANSPORT_PLUGINS } from '../../transport/registry.ts';

export const FUNCTION_NAME = 'keda-scaler';
export const KEDA_API_VERSION = 'keda.sh/v1alpha1';
/** The trigger's name, for `scaling.advanced.formula` (e.g. "queue * 2"). */
export const TRIGGER_NAME = 'queue';

/** Seed policy: up by 100% or 4 pods every 15 s (whichever is more), down by 50% every 15 s. */
export const DEFAULT_BEHAVIOR = {
  scaleUp: {
    stabilizationWindowSeconds: 0,
    selectPolicy: 'Max',
    policies: [
      { type: 'Percent', value: 100, periodSeconds: 15 },
      { type: 'Pods', value: 4, periodSeconds: 15 },
    ],
  },
  scaleDown: { stabilizationWindowSeconds: 60, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 50, periodSeconds: 15 }] },
};

type Scaling = NonNullable<AsyncActor['spec']['scaling']>;
interface Trigger {
  trigger: Record<string, unknown>;
  auth?: Record<string, unknown>;
}

/**
 * One TriggerAuthentication per namespace and transport: every actor there uses the same broker secret, so
 * a thousand actors need one object, not a thousand (the original made one per actor).
 */
const authName = (actor: AsyncActor) => `asya-${transportOf(actor)}-trigger-auth`;
/** The broker's trigger, named so formulas can refer to it, with a reference to its TriggerAuthentication. */
function triggerFor(actor: AsyncActor, scaling: Scaling, platform: PlatformConfig): Trigger | { error: string } {
  const transport = transportOf(actor);
  const built = TRANSPORT_PLUGINS[transport].kedaTrigger(physicalQueueName(actor.metadata.name, platform), scaling, platform.transports[transport]);
  if ('error' in built) return built;
  const { type, metadata, auth } = built;
  const trigger = { type, name: TRIGGER_NAME, metadata, ...(auth ? { authenticationRef: { name: authName(actor) } } : {}) };
  return auth ? { trigger, auth } : { trigger };
}

function advanced(scaling: Scaling): Record<string, unknown> {
  const a = scaling.advanced;
  const modifiers = a && (a.formula || a.target || a.activationTarget || a.metricType)
    ? { scalingModifiers: Object.fromEntries(Object.entries({ formula: a.formula, target: a.target, activationTarget: a.activationTarget, metricType: a.metricType }).filter(([, v]) => v !== undefined)) }
    : {};
  return {
    horizontalPodAutoscalerConfig: { behavior: { ...DEFAULT_BEHAVIOR, ...scaling.behavior } },
    ...(a?.restoreToOriginalReplicaCount !== undefined ? { restoreToOriginalReplicaCount: a.restoreToOriginalReplicaCount } : {}),
    ...modifiers,
  };
}

function meta(actor: AsyncActor, name: string, shared = false): KubeObject['metadata'] {
  return {
    name,
    ...(actor.metadata.namespace ? { namespace: actor.metadata.namespace } : {}),
    labels: { ...(shared ? {} : { 'app.kubernetes.io/name': actor.metadata.name, 'app.kubernetes.io/instance': actor.metadata.name }), 'app.kubernetes.io/part-of': 'asya', 'app.kubernetes.io/managed-by': 'asya' },
  };
}

/** `serviceAccountName`: the IRSA account a ScaledJob's pods run as, if any. */
function scalerFor(actor: AsyncActor, scaling: Scaling, trigger: Trigger, platform: PlatformConfig, serviceAccountName?: string): KubeObject {
  // `*FromEnv` trigger settings are read from the sidecar's env, not the first (runtime) container's.
  const envSource = JSON.stringify(trigger.trigger).includes('FromEnv') ? { envSourceContainerName: SIDECAR_CONTAINER } : {};
  const common = { pollingInterval: scaling.pollingInterval, minReplicaCount: scaling.minReplicas, maxReplicaCount: scaling.maxReplicas, triggers: [trigger.trigger] };
  const kind = actor.spec.workload.kind;
  if (kind === 'Job') {
    const { template } = injectPodTemplate(actor, platform, serviceAccountName);
    return {
      apiVersion: KEDA_API_VERSION,
      kind: 'ScaledJob',
      metadata: meta(actor, actor.metadata.name),
      spec: { jobTargetRef: { backoffLimit: 6, template }, ...envSource, ...common, successfulJobsHistoryLimit: 5, failedJobsHistoryLimit: 5 },
    };
  }
  return {
    apiVersion: KEDA_API_VERSION,
    kind: 'ScaledObject',
    metadata: meta(actor, actor.metadata.name),
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind, name: actor.metadata.name, ...envSource }, ...common, cooldownPeriod: scaling.cooldownPeriod, advanced: advanced(scaling) },
  };
}

export function kedaScaler(items: KubeObject[], functionConfig: unknown): FunctionOutput {
  const platform = readPlatformConfig(functionConfig);
  if (!platform.ok) return { items, results: platform.results };
  const { actors, results } = collectActors(items);
  const fresh: { object: KubeObject; from?: KubeObject }[] = [];
  const auths = new Map<string, { object: KubeObject; from: KubeObject }>();
  const warnings = new Set<string>();
  for (const { actor, item } of actors) {
    const scaling = actor.spec.scaling;
    if (!scaling?.enabled) continue;
    // Only a ScaledJob carries a pod template, so only the Job kind needs the actor's ServiceAccount here.
    const account = actor.spec.workload.kind === 'Job' ? serviceAccountFor(actor, platform.config) : {};
    if (account.error) {
      results.push(resultFor(item, 'error', account.error.message, account.error.path));
      continue;
    }
    const trigger = triggerFor(actor, scaling, platform.config);
    if ('error' in trigger) {
      results.push(resultFor(item, 'error', trigger.error, 'spec.transport'));
      continue;
    }
    const transport = transportOf(actor);
    const warning = TRANSPORT_PLUGINS[transport].kedaWarning?.(scaling, platform.config.transports[transport]);
    if (warning) warnings.add(warning);
    fresh.push({ object: generated(FUNCTION_NAME, actor, scalerFor(actor, scaling, trigger, platform.config, account.name)), from: item });
    const key = `${actor.metadata.namespace ?? ''}/${authName(actor)}`;
    if (trigger.auth && !auths.has(key)) {
      const auth = { apiVersion: KEDA_API_VERSION, kind: 'TriggerAuthentication', metadata: meta(actor, authName(actor), true), spec: trigger.auth };
      auths.set(key, { object: generated(FUNCTION_NAME, undefined, auth), from: item });
    }
  }
  fresh.push(...auths.values());
  const notes: Result[] = [...warnings].map((message) => ({ severity: 'warning', message }));
  return { items: markActorsLocal(replaceGenerated(items, FUNCTION_NAME, fresh), platform.config.keepAsyncActors), results: [...results, ...notes] };
}
