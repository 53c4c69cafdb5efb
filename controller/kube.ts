/**
 * The controller's few Kubernetes writes, on @kubernetes/client-node 1.4: server-side apply, delete, the
 * AsyncActor's finalizers and status, and a read for a kind the informer caches (cache.ts) do not hold. Everything else in
 * controller/ works on plain objects, so it can be reasoned about (and tested) without a cluster.
 */
import * as k8s from '@kubernetes/client-node';
import { API_GROUP, API_VERSION } from '../api/index.ts';
import type { KubeObject } from '../krm-functions/resource-list.ts';
import { FIELD_MANAGER, type LiveActor } from './desired.ts';
import { errorText } from '../protocol/errors.ts';

export const PLURAL = 'asyncactors';

export class KubeError extends Error {
  constructor(
    message: string,
    readonly code: number | undefined,
  ) {
    super(message);
  }
}

function codeOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

function wrap(what: string, err: unknown): KubeError {
  const body = (err as { body?: unknown }).body;
  let detail = errorText(err);
  if (typeof body === 'string') {
    try {
      detail = (JSON.parse(body) as { message?: string }).message ?? detail;
    } catch {
      detail = body;
    }
  }
  return new KubeError(`${what}: ${detail}`, codeOf(err));
}

/** The API server does not serve this kind at all (its CRD is not installed). */
export function notServed(err: unknown): boolean {
  return codeOf(err) === 404 || /Unrecognized API version and kind|Failed to fetch resource metadata/.test(errorText(err));
}

export interface Kube {
  apply(object: KubeObject): Promise<void>;
  read(apiVersion: string, kind: string, namespace: string, name: string): Promise<KubeObject | undefined>;
  remove(apiVersion: string, kind: string, namespace: string, name: string): Promise<void>;
  setFinalizers(actor: LiveActor, finalizers: string[]): Promise<void>;
  patchActorStatus(actor: LiveActor, status: unknown): Promise<void>;
  readonly config: k8s.KubeConfig;
}

export function kubeClient(config: k8s.KubeConfig): Kube {
  const objects = k8s.KubernetesObjectApi.makeApiClient(config);
  const custom = config.makeApiClient(k8s.CustomObjectsApi);
  const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
  const header = (apiVersion: string, kind: string, namespace: string, name: string) => ({ apiVersion, kind, metadata: { name, namespace } });
  return {
    config,
    async apply(object) {
      try {
        await objects.patch(object, undefined, undefined, FIELD_MANAGER, true, k8s.PatchStrategy.ServerSideApply);
      } catch (err) {
        throw wrap(`apply ${object.kind}/${object.metadata.name}`, err);
      }
    },
    async read(apiVersion, kind, namespace, name) {
      try {
        return (await objects.read(header(apiVersion, kind, namespace, name))) as KubeObject;
      } catch (err) {
        if (codeOf(err) === 404) return undefined;
        throw wrap(`read ${kind}/${name}`, err);
      }
    },
    async remove(apiVersion, kind, namespace, name) {
      try {
        await objects.delete(header(apiVersion, kind, namespace, name), undefined, undefined, undefined, undefined, 'Background');
      } catch (err) {
        if (codeOf(err) !== 404) throw wrap(`delete ${kind}/${name}`, err);
      }
    },
    async setFinalizers(actor, finalizers) {
      const { namespace = 'default', name } = actor.metadata;
      // resourceVersion makes this a compare-and-swap: a concurrent edit fails it (409) and is retried.
      const body = { metadata: { finalizers, resourceVersion: actor.metadata.resourceVersion } };
      try {
        await custom.patchNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural: PLURAL, name, body }, mergePatch);
      } catch (err) {
        throw wrap(`update finalizers of AsyncActor ${namespace}/${name}`, err);
      }
    },
    async patchActorStatus(actor, status) {
      const { namespace = 'default', name } = actor.metadata;
      try {
        await custom.patchNamespacedCustomObjectStatus({ group: API_GROUP, version: API_VERSION, namespace, plural: PLURAL, name, body: { status } }, mergePatch);
      } catch (err) {
        if (codeOf(err) !== 404) throw wrap(`update status of AsyncActor ${namespace}/${name}`, err);
      }
    },
  };
}

/** A KubeConfig for an API server URL (tests, or `ASYA_KUBE_API_URL`); otherwise in-cluster or ~/.kube/config. */
export function loadKubeConfig(apiUrl?: string): k8s.KubeConfig {
  const config = new k8s.KubeConfig();
  if (apiUrl) {
    config.loadFromOptions({
      clusters: [{ name: 'c', server: apiUrl, skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
  } else config.loadFromDefault();
  return config;
}
