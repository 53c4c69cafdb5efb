/**
 * Informer caches: one store per watched kind, filled by a list and kept current by its watch, so a
 * reconcile reads the cluster from memory. In a steady state the controller makes no list or get calls at
 * all; the API server only sees its watches and the writes that change something.
 */
import type { KubeObject } from '../krm-functions/resource-list.ts';
import type { WatchedKind } from './kinds.ts';
import type { WatchedObject } from './watcher.ts';

const keyOf = (namespace: string | undefined, name: string) => `${namespace ?? ''}/${name}`;

export class ObjectCache {
  private readonly objects = new Map<string, WatchedObject>();

  constructor(readonly kind: WatchedKind) {}

  /** A (re)list of one namespace (or of all, namespace undefined) replaces what was known there. */
  replace(namespace: string | undefined, items: WatchedObject[]): void {
    for (const [key, o] of this.objects) if (namespace === undefined || o.metadata.namespace === namespace) this.objects.delete(key);
    for (const o of items) this.objects.set(keyOf(o.metadata.namespace, o.metadata.name), o);
  }

  update(type: 'ADDED' | 'MODIFIED' | 'DELETED', o: WatchedObject): void {
    const key = keyOf(o.metadata.namespace, o.metadata.name);
    if (type === 'DELETED') this.objects.delete(key);
    else this.objects.set(key, o);
  }

  get<T = KubeObject>(namespace: string, name: string): T | undefined {
    return this.objects.get(keyOf(namespace, name)) as T | undefined;
  }

  /** Objects in a namespace whose label `label` is `value`. */
  labelled<T = KubeObject>(namespace: string, label: string, value: string): T[] {
    const out: T[] = [];
    for (const o of this.objects.values()) {
      if (o.metadata.namespace === namespace && (o.metadata.labels as Record<string, string> | undefined)?.[label] === value) out.push(o as T);
    }
    return out;
  }

  get size(): number {
    return this.objects.size;
  }
}

/** The caches by `apiVersion/kind`. */
export class Caches {
  private readonly byKind = new Map<string, ObjectCache>();

  constructor(kinds: readonly WatchedKind[]) {
    for (const k of kinds) this.byKind.set(`${k.apiVersion}/${k.kind}`, new ObjectCache(k));
  }

  of(apiVersion: string, kind: string): ObjectCache | undefined {
    return this.byKind.get(`${apiVersion}/${kind}`);
  }

  all(): ObjectCache[] {
    return [...this.byKind.values()];
  }
}
