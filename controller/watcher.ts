/**
 * List, then watch from the list's resourceVersion, forever: the shape of every Kubernetes informer, kept
 * small so its failure modes are ours to test. A watch that ends is resumed from the last resourceVersion
 * seen; a 410 Gone (the server compacted that history) or any error is answered by a fresh list after a
 * backoff, and the fresh list is reported whole so the controller can catch up on what it missed. A kind the
 * server does not serve (KEDA not installed), or that RBAC forbids, is reported as an empty list and tried
 * again later; failures
 * back off exponentially, so an absent kind or a down API server does not turn into a stream of lists.
 */
import * as k8s from '@kubernetes/client-node';
import type { Logger } from '../protocol/index.ts';
import { sleep } from '../protocol/index.ts';
import { notServed } from './kube.ts';
import { errorText } from '../protocol/errors.ts';

export interface WatchedObject {
  metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export interface WatchHandlers {
  /** Every object from a (re)list. */
  onList(objects: WatchedObject[]): void;
  onEvent(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: WatchedObject): void;
}

export interface Watching {
  /** Resolves once the first list has been delivered. */
  readonly synced: Promise<void>;
  /** How many times the watcher has listed (1 + relists). */
  readonly lists: () => number;
  stop(): void;
}

export interface WatchTarget {
  apiVersion: string;
  kind: string;
  /** The resource's plural, for the watch path. */
  plural: string;
  /** Undefined: all namespaces. */
  namespace?: string;
  labelSelector?: string;
}

/** The longest wait between two failed lists. */
const MAX_BACKOFF_MS = 60_000;

export function watchResource(config: k8s.KubeConfig, target: WatchTarget, handlers: WatchHandlers, log: Logger, backoffMs = 1000): Watching {
  const watch = new k8s.Watch(config);
  const objects = k8s.KubernetesObjectApi.makeApiClient(config);
  const { apiVersion, kind, namespace, labelSelector } = target;
  const path = `/${apiVersion.includes('/') ? 'apis' : 'api'}/${apiVersion}${namespace ? `/namespaces/${namespace}` : ''}/${target.plural}`;
  let stopped = false;
  let lists = 0;
  let current: AbortController | undefined;
  let markSynced = () => {};
  const synced = new Promise<void>((resolve) => (markSynced = resolve));
  let failures = 0;
  const halt = new AbortController();
  const pause = (ms: number) => sleep(ms, halt.signal).catch(() => {});
  let absent = false;
  /** The list's resourceVersion, or undefined when the kind is not served. */
  async function list(): Promise<string | undefined> {
    lists++;
    let body: k8s.KubernetesListObject<k8s.KubernetesObject>;
    try {
      body = await objects.list(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, labelSelector);
    } catch (err) {
      const forbidden = (err as { code?: number }).code === 403;
      if (!notServed(err) && !forbidden) throw new Error(`list ${path}: ${errorText(err)}`);
      // Either way the controller works on without this kind rather than waiting for it forever.
      if (!absent && forbidden) log.error(`list ${path} is forbidden: the controller's RBAC lacks list/watch on ${target.plural} (charts-ts/rbac.ts); treating it as empty and trying again later`);
      else if (!absent) log.info(`${kind} (${apiVersion}) is not served by the API server; treating it as empty and checking again later`);
      absent = true;
      handlers.onList([]);
      markSynced();
      return undefined;
    }
    absent = false;
    handlers.onList(body.items as WatchedObject[]);
    markSynced();
    return body.metadata?.resourceVersion ?? '';
  }

  /** Watches from resourceVersion until the stream ends; resolves with the resourceVersion to resume from, or undefined to relist. */
  function watchFrom(resourceVersion: string): Promise<string | undefined> {
    return new Promise((resolve) => {
      let latest: string | undefined = resourceVersion;
      const query: Record<string, string | boolean> = { resourceVersion, allowWatchBookmarks: true, ...(labelSelector ? { labelSelector } : {}) };
      watch
        .watch(
          path,
          query,
          (type: string, object: WatchedObject) => {
            if (type === 'ERROR') {
              const code = (object as { code?: number }).code;
              log.info(`watch ${path}: ${code === 410 ? 'history expired (410 Gone); relisting' : `error ${JSON.stringify(object)}`}`);
              latest = undefined;
              return;
            }
            if (object.metadata?.resourceVersion) latest = object.metadata.resourceVersion;
            if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') handlers.onEvent(type, object);
          },
          (err: unknown) => {
            if (err && !stopped) {
              log.warn(`watch ${path} ended: ${errorText(err)}`);
              latest = undefined;
            }
            resolve(latest);
          },
        )
        .then(
          (controller) => (current = controller),
          (err: Error) => {
            log.warn(`watch ${path} failed: ${err.message}`);
            resolve(undefined);
          },
        );
    });
  }

  void (async () => {
    let resourceVersion: string | undefined;
    const backoff = () => Math.min(backoffMs * 2 ** Math.min(failures++, 16), MAX_BACKOFF_MS);
    while (!stopped) {
      try {
        if (resourceVersion === undefined) {
          resourceVersion = await list();
          if (resourceVersion === undefined) {
            await pause(backoff());
            continue;
          }
          failures = 0;
        }
        resourceVersion = await watchFrom(resourceVersion);
        if (resourceVersion === undefined && !stopped) await pause(backoff());
      } catch (err) {
        const wait = backoff();
        log.warn(`${errorText(err)}; retrying in ${wait} ms`);
        resourceVersion = undefined;
        await pause(wait);
      }
    }
  })();

  return {
    synced,
    lists: () => lists,
    stop() {
      stopped = true;
      halt.abort();
      current?.abort();
    },
  };
}
