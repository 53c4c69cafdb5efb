/**
 * inject-sidecar: AsyncActors in, runnable workloads out. For every valid actor it emits the workload
 * (Deployment, StatefulSet with its headless Service, or Job) with the sidecar injected, the per-namespace
 * `asya-runtime` ConfigMap holding asya_runtime.py, and for SQS with IRSA the actor's ServiceAccount.
 * A pure function of the AsyncActors and the platform settings: running it on its own output changes nothing.
 */
import { handlerLanguage, transportOf, type AsyncActor } from '../../api/index.ts';
import { collectActors, generated, markActorsLocal, replaceGenerated, resultFor } from '../actors.ts';
import { readPlatformConfig, type PlatformConfig } from '../platform-config.ts';
import type { FunctionOutput, KubeObject, Result } from '../resource-list.ts';
import { runtimeScript } from '../runtime-script.ts';
import { TRANSPORT_PLUGINS } from '../../transport/registry.ts';
import { translateOriginalCrew } from './original-crew.ts';
import { sidecarEnvProblems } from '../sidecar-settings.ts';
import { injectPodTemplate, RUNTIME_CONFIGMAP, RUNTIME_SCRIPT_KEY, selectorLabels, type PodTemplate } from './pod-template.ts';

export const FUNCTION_NAME = 'inject-sidecar';

function objectMeta(actor: AsyncActor, name = actor.metadata.name): KubeObject['metadata'] {
  const actorLabels = (actor.metadata.labels ?? {}) as Record<string, string>;
  return {
    name,
    ...(actor.metadata.namespace ? { namespace: actor.metadata.namespace } : {}),
    labels: {
      ...actorLabels,
      'app.kubernetes.io/name': actor.metadata.name,
      'app.kubernetes.io/instance': actor.metadata.name,
      'app.kubernetes.io/component': 'actor',
      'app.kubernetes.io/part-of': 'asya',
      'app.kubernetes.io/managed-by': 'asya',
    },
  };
}

/** The workload, or nothing when KEDA runs the actor as a ScaledJob (keda-scaler emits that). */
export function workloadFor(actor: AsyncActor, template: PodTemplate): KubeObject[] {
  const { kind, replicas } = actor.spec.workload;
  const scaled = actor.spec.scaling?.enabled === true;
  // With KEDA on, the HPA owns replicas; writing them here would fight it on every sync.
  const replicaField = scaled ? {} : { replicas };
  const selector = { matchLabels: selectorLabels(actor) };
  switch (kind) {
    case 'Deployment':
      return [{ apiVersion: 'apps/v1', kind, metadata: objectMeta(actor), spec: { ...replicaField, selector, template } }];
    case 'StatefulSet':
      return [
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: objectMeta(actor),
          spec: { clusterIP: 'None', selector: selectorLabels(actor), ports: [{ name: 'metrics', port: 8080, targetPort: 'metrics' }] },
        },
        {
          apiVersion: 'apps/v1',
          kind,
          metadata: objectMeta(actor),
          spec: { ...replicaField, serviceName: actor.metadata.name, podManagementPolicy: 'Parallel', selector, template },
        },
      ];
    case 'Job':
      if (scaled) return [];
      return [{ apiVersion: 'batch/v1', kind, metadata: objectMeta(actor), spec: { parallelism: replicas, backoffLimit: 6, template } }];
  }
}

export function serviceAccountFor(actor: AsyncActor, platform: PlatformConfig): { name?: string; object?: KubeObject; error?: { message: string; path: string } } {
  const transport = transportOf(actor);
  const roleArn = TRANSPORT_PLUGINS[transport].workloadRoleArn?.(platform.transports[transport]);
  if (!roleArn) return {};
  const name = `asya-${actor.metadata.name}`;
  const userAccount = actor.spec.workload.template.spec.serviceAccountName;
  if (userAccount !== undefined && userAccount !== name) {
    return {
      error: {
        message: `cannot use custom serviceAccountName ${JSON.stringify(userAccount)} when IRSA (transports.sqs.actorRoleArn) is configured: the actor runs as ${name}`,
        path: 'spec.workload.template.spec.serviceAccountName',
      },
    };
  }
  const meta = objectMeta(actor, name);
  return { name, object: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { ...meta, annotations: { 'eks.amazonaws.com/role-arn': roleArn } } } };
}

function runtimeConfigMap(namespace: string | undefined): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: RUNTIME_CONFIGMAP,
      ...(namespace ? { namespace } : {}),
      labels: { 'app.kubernetes.io/name': 'asya-runtime', 'app.kubernetes.io/component': 'asya-runtime', 'app.kubernetes.io/part-of': 'asya' },
    },
    data: { [RUNTIME_SCRIPT_KEY]: runtimeScript() },
  };
}

export function injectSidecar(items: KubeObject[], functionConfig: unknown): FunctionOutput {
  const platform = readPlatformConfig(functionConfig);
  if (!platform.ok) return { items, results: platform.results };
  const { actors, results } = collectActors(items);
  const fresh: { object: KubeObject; from?: KubeObject }[] = [];
  const runtimeNamespaces = new Map<string, KubeObject>();
  for (const { actor: written, item } of actors) {
    const crew = translateOriginalCrew(written, platform.config.sidecar.image);
    if (crew.warning) results.push(resultFor(item, 'warning', crew.warning.message, crew.warning.path));
    const actor = crew.actor;
    const envProblems = sidecarEnvProblems(actor);
    for (const p of envProblems) results.push(resultFor(item, p.severity, p.message, p.path));
    const account = serviceAccountFor(actor, platform.config);
    if (account.error) results.push(resultFor(item, 'error', account.error.message, account.error.path));
    if (account.error || envProblems.some((p) => p.severity === 'error')) continue;
    const pod = injectPodTemplate(actor, platform.config, account.name);
    for (const w of pod.warnings) results.push(resultFor(item, 'warning', w.message, w.path));
    const objects = [...workloadFor(actor, pod.template), ...(account.object ? [account.object] : [])];
    for (const object of objects) fresh.push({ object: generated(FUNCTION_NAME, actor, object), from: item });
    const namespace = actor.metadata.namespace ?? '';
    if (handlerLanguage(actor) === 'python' && !runtimeNamespaces.has(namespace)) runtimeNamespaces.set(namespace, item);
  }
  for (const [namespace, from] of runtimeNamespaces) {
    fresh.push({ object: generated(FUNCTION_NAME, undefined, runtimeConfigMap(namespace || undefined)), from });
  }
  const summary: Result[] = actors.length ? [{ severity: 'info', message: `${actors.length} AsyncActor(s) → ${fresh.length} object(s)` }] : [];
  return { items: markActorsLocal(replaceGenerated(items, FUNCTION_NAME, fresh), platform.config.keepAsyncActors), results: [...results, ...summary] };
}
