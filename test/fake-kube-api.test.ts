/** The fake API server's rules that the controller tests rely on behave as a real API server's do. */
import { afterEach, expect, test } from 'vitest';
import { FakeKubeApi } from './support/fake-kube-api.ts';

let api: FakeKubeApi;
afterEach(() => api?.stop());

const path = '/apis/apps/v1/namespaces/ns/deployments';
async function call(url: string, method: string, p: string, body?: unknown, contentType = 'application/json') {
  const res = await fetch(`${url}${p}`, { method, headers: { 'content-type': contentType }, ...(body ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, body: (await res.json()) as { message?: string; metadata?: { resourceVersion?: string } } };
}
const deployment = (replicas: number) => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'ns' }, spec: { replicas } });

test('a patch carrying an old resourceVersion is a 409 Conflict; the current one succeeds', async () => {
  api = new FakeKubeApi();
  const url = await api.start();
  const made = await call(url, 'POST', path, deployment(1));
  const rv = made.body.metadata!.resourceVersion!;
  expect((await call(url, 'PATCH', `${path}/d`, { spec: { replicas: 2 } }, 'application/merge-patch+json')).status).toBe(200);
  const stale = await call(url, 'PATCH', `${path}/d`, { metadata: { resourceVersion: rv }, spec: { replicas: 3 } }, 'application/merge-patch+json');
  expect(stale.status).toBe(409);
  expect(stale.body.message).toContain('the object has been modified');
  const current = api.get('Deployment', 'ns', 'd')!.metadata.resourceVersion;
  expect((await call(url, 'PATCH', `${path}/d`, { metadata: { resourceVersion: current }, spec: { replicas: 3 } }, 'application/merge-patch+json')).status).toBe(200);
  expect(api.get('Deployment', 'ns', 'd')!.spec).toEqual({ replicas: 3 });
});

test('server-side apply: a field another manager owns conflicts unless forced, and forcing takes it over', async () => {
  api = new FakeKubeApi();
  const url = await api.start();
  const apply = (manager: string, replicas: number, force = false) =>
    call(url, 'PATCH', `${path}/d?fieldManager=${manager}${force ? '&force=true' : ''}`, deployment(replicas), 'application/apply-patch+yaml');
  expect((await apply('asya-controller', 1)).status).toBe(201);
  // The same value from another manager is no conflict: the two share the field.
  expect((await apply('kubectl', 1)).status).toBe(200);
  expect(api.fieldOwners('Deployment', 'ns', 'd')['.spec.replicas']).toEqual(['asya-controller', 'kubectl']);
  const conflict = await apply('kubectl', 5);
  expect(conflict.status).toBe(409);
  expect(conflict.body.message).toBe('Apply failed with 1 conflict: conflict with "asya-controller": .spec.replicas');
  expect(api.get('Deployment', 'ns', 'd')!.spec).toEqual({ replicas: 1 });
  expect((await apply('kubectl', 5, true)).status).toBe(200);
  expect(api.fieldOwners('Deployment', 'ns', 'd')['.spec.replicas']).toEqual(['kubectl']);
  // A merge patch makes its manager the owner of what it changed.
  await call(url, 'PATCH', `${path}/d?fieldManager=hpa`, { spec: { replicas: 7 } }, 'application/merge-patch+json');
  expect(api.fieldOwners('Deployment', 'ns', 'd')['.spec.replicas']).toEqual(['hpa']);
  expect((await apply('asya-controller', 1)).status).toBe(409);
  expect((await call(url, 'PATCH', `${path}/d`, deployment(5), 'application/apply-patch+yaml')).status).toBe(400);
});

test('lists and watches honour label selectors, including existence', async () => {
  api = new FakeKubeApi();
  const url = await api.start();
  const pods = '/api/v1/namespaces/ns/pods';
  const pod = (name: string, labels: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'ns', labels } });
  const res = await fetch(`${url}${pods}?watch=true&resourceVersion=0&labelSelector=asya.sh%2Fasya`);
  const reader = res.body!.getReader();
  await call(url, 'POST', pods, pod('other', { app: 'x' }));
  await call(url, 'POST', pods, pod('mine', { 'asya.sh/asya': 'a' }));
  const first = new TextDecoder().decode((await reader.read()).value);
  expect(JSON.parse(first.split('\n')[0]!)).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'mine' } } });
  await reader.cancel();
  const list = (await (await fetch(`${url}${pods}?labelSelector=app!%3Dx`)).json()) as { items: { metadata: { name: string } }[] };
  expect(list.items.map((p) => p.metadata.name)).toEqual(['mine']);
});
