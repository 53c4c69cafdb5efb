/**
 * An in-process Kubernetes API server for controller tests (no real kube-apiserver can run on the CI
 * machine). It speaks the real wire protocol that @kubernetes/client-node uses:
 * - discovery: GET /api, /apis, /api/v1 and /apis/<group>/<version> (APIResourceList);
 * - REST on namespaced resources: list (label selectors, list resourceVersion), get, create (409 when it
 *   exists), delete (finalizers hold it with a deletionTimestamp), PATCH with
 *   application/apply-patch+yaml (server-side apply), application/merge-patch+json and
 *   application/json-patch+json, and the /status subresource (status changes only there);
 * - watch: ?watch=true from a resourceVersion, newline-delimited events over chunked HTTP, and an ERROR event
 *   with a 410 Status when the requested resourceVersion has been compacted away (`compact()`);
 * - metadata.generation bumps on spec changes, uid and creationTimestamp on create;
 * - resourceVersion preconditions: a PUT or PATCH that carries metadata.resourceVersion fails with 409
 *   Conflict when the object has changed since;
 * - server-side apply field ownership per leaf field (fake-kube-fields.ts): an apply that would change a
 *   field another manager owns is a 409 Conflict unless forced (`force=true` takes the field over);
 * - label selectors `k=v`, `k!=v`, `k`, `!k` on lists and on watches;
 * - Pods (with status.containerStatuses and conditions as a test writes them, see `setStatus`) and
 *   events.k8s.io/v1 Events.
 * It does not model: strategic merge patch, lists merged by key in apply (a list is one atomic field, so an
 * apply replaces it whole) and the removal of fields a manager stops applying, garbage collection through
 * ownerReferences, admission (defaulting, validation, CRD schemas), RBAC and authentication, field
 * selectors, pagination, watch events for objects that stop matching a label selector, and the built-in
 * controllers (a Deployment's status and its pods only change when a test writes them).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { canonicalJson } from '../../controller/desired.ts';
import { isPlainObject } from '../../protocol/json.ts';
import { applyConflicts, changedLeaves, leaves, matchesSelector, takeOwnership, type Owners } from './fake-kube-fields.ts';

export interface Resource {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  hasStatus?: boolean;
}

type Obj = { apiVersion: string; kind: string; metadata: Record<string, unknown> & { name: string; namespace?: string }; [k: string]: unknown };

export const DEFAULT_RESOURCES: Resource[] = [
  { group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true },
  { group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true },
  { group: '', version: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true },
  { group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true, hasStatus: true },
  { group: 'events.k8s.io', version: 'v1', kind: 'Event', plural: 'events', namespaced: true },
  { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false },
  { group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', namespaced: true, hasStatus: true },
  { group: 'apps', version: 'v1', kind: 'StatefulSet', plural: 'statefulsets', namespaced: true, hasStatus: true },
  { group: 'batch', version: 'v1', kind: 'Job', plural: 'jobs', namespaced: true, hasStatus: true },
  { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', namespaced: true },
  { group: 'keda.sh', version: 'v1alpha1', kind: 'ScaledObject', plural: 'scaledobjects', namespaced: true, hasStatus: true },
  { group: 'keda.sh', version: 'v1alpha1', kind: 'ScaledJob', plural: 'scaledjobs', namespaced: true, hasStatus: true },
  { group: 'keda.sh', version: 'v1alpha1', kind: 'TriggerAuthentication', plural: 'triggerauthentications', namespaced: true },
  { group: 'asya.sh', version: 'v1alpha1', kind: 'AsyncActor', plural: 'asyncactors', namespaced: true, hasStatus: true },
];

interface WatchEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  resource: Resource;
  object: Obj;
}

export interface RequestRecord {
  method: string;
  path: string;
  contentType?: string;
}

const clone = <T>(v: T): T => structuredClone(v);

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return clone(patch);
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function jsonPatch(target: Obj, ops: { op: string; path: string; value?: unknown }[]): Obj {
  const doc = clone(target) as unknown as Record<string, unknown>;
  for (const op of ops) {
    const parts = op.path.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = parts.pop()!;
    let node: Record<string, unknown> | unknown[] = doc;
    for (const p of parts) node = (node as Record<string, unknown>)[p] as Record<string, unknown>;
    if (Array.isArray(node)) {
      const i = last === '-' ? node.length : Number(last);
      if (op.op === 'remove') node.splice(i, 1);
      else if (op.op === 'add') node.splice(i, 0, op.value);
      else node[i] = op.value;
    } else if (op.op === 'remove') delete node[last];
    else node[last] = op.value;
  }
  return doc as unknown as Obj;
}

const canonical = canonicalJson;

const specOf = (o: Obj) => canonical(Object.fromEntries(Object.entries(o).filter(([k]) => k !== 'metadata' && k !== 'status')));

export class FakeKubeApi {
  private server?: Server;
  private readonly store = new Map<string, Obj>();
  private readonly history: WatchEvent[] = [];
  private readonly watchers = new Set<{ resource: Resource; namespace?: string; selector: string | null; res: ServerResponse }>();
  /** Field owners per stored object key (server-side apply's managedFields, kept aside). */
  private readonly owners = new Map<string, Owners>();
  private rv = 1;
  /** Events with a resourceVersion at or below this are gone: watching from there answers 410. */
  private compactedThrough = 0;
  readonly requests: RequestRecord[] = [];

  constructor(private readonly resources: Resource[] = DEFAULT_RESOURCES) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      void this.handle(req, res).catch((err: Error) => this.status(res, 500, 'InternalError', err.message));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Writes (not GETs or watches) seen since `since` requests, for "no spurious writes" checks. */
  writes(since = 0): RequestRecord[] {
    return this.requests.slice(since).filter((r) => r.method !== 'GET');
  }

  /** Forget the event history: watches from an old resourceVersion get 410 Gone; open watches are closed. */
  compact(): void {
    // As if writes happened and etcd compacted them: a watcher resuming from before this point missed them.
    this.compactedThrough = ++this.rv;
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
  }

  /** Test access: the stored object, or undefined. */
  get(kind: string, namespace: string | undefined, name: string): Obj | undefined {
    const resource = this.resources.find((r) => r.kind === kind)!;
    const o = this.store.get(this.key(resource, namespace, name));
    return o ? clone(o) : undefined;
  }

  list(kind: string): Obj[] {
    const resource = this.resources.find((r) => r.kind === kind)!;
    return [...this.store.entries()].filter(([k]) => k.startsWith(`${resource.group}/${resource.plural}/`)).map(([, o]) => clone(o));
  }

  /** Test access: set an object's status as a real controller (e.g. the Deployment controller) would. */
  setStatus(kind: string, namespace: string | undefined, name: string, status: unknown): void {
    const resource = this.resources.find((r) => r.kind === kind)!;
    const key = this.key(resource, namespace, name);
    const o = this.store.get(key);
    if (!o) throw new Error(`${kind} ${namespace}/${name} not found`);
    this.write(resource, key, { ...o, status: clone(status) }, 'MODIFIED');
  }

  /** Test access: create an object as another client would (a pod made by the ReplicaSet controller). */
  put(object: Obj): Obj {
    const resource = this.resources.find((r) => r.kind === object.kind)!;
    const key = this.key(resource, object.metadata.namespace, object.metadata.name);
    if (this.store.has(key)) throw new Error(`${object.kind} ${object.metadata.name} exists`);
    return this.write(resource, key, this.created(object, object.metadata.namespace), 'ADDED');
  }

  /** Test access: delete an object at once (no finalizers), as its controller would. */
  delete(kind: string, namespace: string | undefined, name: string): void {
    const resource = this.resources.find((r) => r.kind === kind)!;
    const key = this.key(resource, namespace, name);
    const o = this.store.get(key);
    if (o) this.write(resource, key, o, 'DELETED');
  }

  /** Test access: which manager owns each field of an object (server-side apply). */
  fieldOwners(kind: string, namespace: string | undefined, name: string): Record<string, string[]> {
    const resource = this.resources.find((r) => r.kind === kind)!;
    return Object.fromEntries([...(this.owners.get(this.key(resource, namespace, name)) ?? [])].map(([p, o]) => [p, [...o].sort()]));
  }

  private watches(w: { resource: Resource; namespace?: string; selector: string | null }, resource: Resource, object: Obj): boolean {
    return w.resource === resource && (!w.namespace || w.namespace === object.metadata.namespace) && matchesSelector(object.metadata.labels as Record<string, string> | undefined, w.selector);
  }

  private key(resource: Resource, namespace: string | undefined, name: string): string {
    return `${resource.group}/${resource.plural}/${resource.namespaced ? (namespace ?? 'default') : ''}/${name}`;
  }

  private write(resource: Resource, key: string, object: Obj, type: WatchEvent['type']): Obj {
    const stored = clone(object);
    stored.metadata.resourceVersion = String(++this.rv);
    if (type === 'DELETED') {
      this.store.delete(key);
      this.owners.delete(key);
    }
    else this.store.set(key, stored);
    const event: WatchEvent = { rv: this.rv, type, resource, object: stored };
    this.history.push(event);
    for (const w of this.watchers) {
      if (this.watches(w, resource, stored)) w.res.write(`${JSON.stringify({ type, object: stored })}\n`);
    }
    return clone(stored);
  }

  private status(res: ServerResponse, code: number, reason: string, message: string): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, message, code }));
  }

  private json(res: ServerResponse, code: number, body: unknown): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private async body(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    return text ? JSON.parse(text) : undefined;
  }

  private discovery(path: string, res: ServerResponse): boolean {
    if (path === '/api') return (this.json(res, 200, { kind: 'APIVersions', versions: ['v1'] }), true);
    if (path === '/apis') {
      const groups = [...new Set(this.resources.filter((r) => r.group).map((r) => `${r.group}/${r.version}`))].map((gv) => {
        const [name, version] = gv.split('/');
        return { name, versions: [{ groupVersion: gv, version }], preferredVersion: { groupVersion: gv, version } };
      });
      return (this.json(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups }), true);
    }
    const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(path);
    if (!m) return false;
    const group = m[1] ? '' : m[2]!;
    const version = m[1] ?? m[3]!;
    const resources = this.resources
      .filter((r) => r.group === group && r.version === version)
      .flatMap((r) => [
        { name: r.plural, singularName: r.kind.toLowerCase(), namespaced: r.namespaced, kind: r.kind, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
        ...(r.hasStatus ? [{ name: `${r.plural}/status`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: ['get', 'patch', 'update'] }] : []),
      ]);
    if (resources.length === 0) return (this.status(res, 404, 'NotFound', `no group version ${group}/${version}`), true);
    this.json(res, 200, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources });
    return true;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    this.requests.push({ method: req.method ?? 'GET', path: `${url.pathname}${url.search}`, contentType: req.headers['content-type'] });
    if (req.method === 'GET' && this.discovery(url.pathname, res)) return;
    const m = /^\/(?:api\/v1|apis\/([^/]+)\/([^/]+))(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?(?:\/(status))?$/.exec(url.pathname);
    if (!m) return this.status(res, 404, 'NotFound', `no route ${url.pathname}`);
    const [, group = '', version = 'v1', namespace, plural, name, sub] = m;
    const resource = this.resources.find((r) => r.group === group && r.version === version && r.plural === plural);
    if (!resource) return this.status(res, 404, 'NotFound', `the server could not find the requested resource (${plural})`);

    if (!name) {
      if (req.method === 'GET' && url.searchParams.get('watch') === 'true') return this.watch(resource, namespace, Number(url.searchParams.get('resourceVersion') ?? 0), url.searchParams.get('labelSelector'), res);
      if (req.method === 'GET') {
        const items = [...this.store.entries()]
          .filter(([k]) => k.startsWith(`${resource.group}/${resource.plural}/${namespace ? `${namespace}/` : ''}`))
          .map(([, o]) => o)
          .filter((o) => matchesSelector(o.metadata.labels as Record<string, string> | undefined, url.searchParams.get('labelSelector')));
        return this.json(res, 200, { apiVersion: group ? `${group}/${version}` : 'v1', kind: `${resource.kind}List`, metadata: { resourceVersion: String(this.rv) }, items });
      }
      if (req.method === 'POST') {
        const object = (await this.body(req)) as Obj;
        const key = this.key(resource, namespace, object.metadata.name);
        if (this.store.has(key)) return this.status(res, 409, 'AlreadyExists', `${plural} "${object.metadata.name}" already exists`);
        const made = this.write(resource, key, this.created(object, namespace), 'ADDED');
        takeOwnership(this.ownersOf(key), leaves(object).keys(), url.searchParams.get('fieldManager') ?? 'unknown');
        return this.json(res, 201, made);
      }
      return this.status(res, 405, 'MethodNotAllowed', req.method ?? '');
    }

    const key = this.key(resource, namespace, name);
    const existing = this.store.get(key);
    if (req.method === 'GET') return existing ? this.json(res, 200, existing) : this.status(res, 404, 'NotFound', `${plural} "${name}" not found`);
    if (req.method === 'DELETE') {
      if (!existing) return this.status(res, 404, 'NotFound', `${plural} "${name}" not found`);
      if (((existing.metadata.finalizers as string[] | undefined) ?? []).length > 0) {
        if (existing.metadata.deletionTimestamp) return this.json(res, 200, existing);
        return this.json(res, 200, this.write(resource, key, { ...existing, metadata: { ...existing.metadata, deletionTimestamp: new Date().toISOString() } }, 'MODIFIED'));
      }
      this.write(resource, key, existing, 'DELETED');
      return this.json(res, 200, { kind: 'Status', apiVersion: 'v1', status: 'Success', code: 200 });
    }
    if (req.method === 'PATCH' || req.method === 'PUT') {
      const contentType = req.headers['content-type'] ?? '';
      const patch = await this.body(req);
      const apply = req.method === 'PATCH' && contentType.startsWith('application/apply-patch');
      const manager = url.searchParams.get('fieldManager') ?? 'unknown';
      if (!existing && !apply) return this.status(res, 404, 'NotFound', `${plural} "${name}" not found`);
      const sent = (patch as { metadata?: { resourceVersion?: unknown } } | undefined)?.metadata?.resourceVersion;
      if (existing && sent !== undefined && sent !== existing.metadata.resourceVersion) {
        return this.status(res, 409, 'Conflict', `Operation cannot be fulfilled on ${plural} "${name}": the object has been modified; please apply your changes to the latest version and try again`);
      }
      if (apply && !url.searchParams.get('fieldManager')) return this.status(res, 400, 'BadRequest', 'PATCH with application/apply-patch+yaml requires fieldManager');
      const owners = this.ownersOf(key);
      if (apply && existing && url.searchParams.get('force') !== 'true') {
        const conflicts = applyConflicts(owners, existing, patch, manager);
        if (conflicts.length) {
          const list = conflicts.map((c) => `conflict with "${c.owner}": ${c.path}`).join('\n- ');
          return this.status(res, 409, 'Conflict', `Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? 's' : ''}: ${list}`);
        }
      }
      let next: Obj;
      if (req.method === 'PUT') next = patch as Obj;
      else if (contentType.startsWith('application/json-patch')) next = jsonPatch(existing!, patch as { op: string; path: string }[]);
      else if (apply || contentType.startsWith('application/merge-patch')) next = mergePatch(existing ?? {}, patch) as Obj;
      else return this.status(res, 415, 'UnsupportedMediaType', `${contentType} is not supported by this fake`);
      if (!existing) {
        const made = this.write(resource, key, this.created(next, namespace), 'ADDED');
        takeOwnership(owners, leaves(patch).keys(), manager);
        return this.json(res, 201, made);
      }
      const updated = this.update(resource, key, existing, next, sub === 'status');
      const before = leaves(existing);
      const after = leaves(updated);
      takeOwnership(owners, apply ? leaves(patch).keys() : changedLeaves(existing, updated), manager, (p) => before.get(p) !== after.get(p));
      return this.json(res, 200, updated);
    }
    return this.status(res, 405, 'MethodNotAllowed', req.method ?? '');
  }

  private ownersOf(key: string): Owners {
    let owners = this.owners.get(key);
    if (!owners) this.owners.set(key, (owners = new Map()));
    return owners;
  }

  private created(object: Obj, namespace: string | undefined): Obj {
    const metadata = { ...object.metadata, uid: randomUUID(), creationTimestamp: new Date().toISOString(), generation: 1, ...(namespace ? { namespace } : {}) };
    return { ...object, metadata };
  }

  /** Status only changes through /status (for resources with the subresource); generation follows spec. */
  private update(resource: Resource, key: string, existing: Obj, next: Obj, statusOnly: boolean): Obj {
    let merged: Obj;
    if (statusOnly) merged = { ...existing, status: next.status };
    else {
      merged = { ...next, metadata: { ...next.metadata, uid: existing.metadata.uid, creationTimestamp: existing.metadata.creationTimestamp, namespace: existing.metadata.namespace } };
      if (resource.hasStatus) merged.status = existing.status;
      if (merged.status === undefined) delete merged.status;
      if (existing.metadata.deletionTimestamp) merged.metadata.deletionTimestamp = existing.metadata.deletionTimestamp;
    }
    const generation = Number(existing.metadata.generation ?? 1);
    merged.metadata.generation = specOf(merged) !== specOf(existing) ? generation + 1 : generation;
    delete merged.metadata.resourceVersion;
    // A no-op write changes nothing and notifies nobody, as on a real API server.
    if (canonical(merged) === canonical({ ...existing, metadata: { ...existing.metadata, resourceVersion: undefined } })) return clone(existing);
    // A held object whose last finalizer is removed is deleted, as the API server does.
    if (merged.metadata.deletionTimestamp && ((merged.metadata.finalizers as string[] | undefined) ?? []).length === 0) {
      return this.write(resource, key, merged, 'DELETED');
    }
    return this.write(resource, key, merged, 'MODIFIED');
  }

  private watch(resource: Resource, namespace: string | undefined, from: number, selector: string | null, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    // Without an immediate flush client-node's informer waits for the first event before it starts.
    res.flushHeaders();
    if (from && from < this.compactedThrough) {
      const status = { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410, message: `too old resource version: ${from} (${this.compactedThrough})` };
      res.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
      return;
    }
    for (const e of this.history) {
      if (e.rv > from && this.watches({ resource, namespace, selector }, e.resource, e.object)) res.write(`${JSON.stringify({ type: e.type, object: e.object })}\n`);
    }
    const watcher = { resource, namespace, selector, res };
    this.watchers.add(watcher);
    res.on('close', () => this.watchers.delete(watcher));
  }
}
