/** The controller's RBAC is least privilege: no wildcards, no Secrets, no actor creation, Leases only its own. */
import { describe, expect, test } from 'vitest';
import { byKind, only, synthObjects } from '../test/support/charts.ts';
import type { KubeObject } from '../krm-functions/resource-list.ts';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}
const rulesOf = (o: KubeObject) => (o as unknown as { rules: Rule[] }).rules;
/** resource (group/resource) → verbs, merged over all rules. */
function grants(rules: Rule[]): Map<string, Set<string>> {
  const map = new Map<string, Set<string>>();
  for (const rule of rules) for (const g of rule.apiGroups) for (const r of rule.resources) {
    const key = `${g || 'core'}/${r}`;
    map.set(key, new Set([...(map.get(key) ?? []), ...rule.verbs]));
  }
  return map;
}

const objects = synthObjects({ pattern: 'full', trial: true });
const clusterRole = only(objects, 'ClusterRole', 'asya-controller');
const leaseRole = only(objects, 'Role', 'asya-controller-leader-election');
const allRules = [...byKind(objects, 'ClusterRole'), ...byKind(objects, 'Role')].flatMap(rulesOf);

describe('controller RBAC', () => {
  test('the only RBAC objects are the controller’s', () => {
    expect(byKind(objects, 'ClusterRole').map((o) => o.metadata.name)).toEqual(['asya-controller']);
    expect(byKind(objects, 'Role').map((o) => o.metadata.name)).toEqual(['asya-controller-leader-election']);
  });

  test('no wildcard verbs, resources or API groups', () => {
    for (const rule of allRules) {
      expect(rule.verbs).not.toContain('*');
      expect(rule.resources).not.toContain('*');
      expect(rule.apiGroups).not.toContain('*');
      expect(rule.verbs).not.toContain('escalate');
      expect(rule.verbs).not.toContain('bind');
      expect(rule.verbs).not.toContain('impersonate');
    }
  });

  test('exactly the grants the controller needs', () => {
    const g = grants(rulesOf(clusterRole));
    const asObject = Object.fromEntries([...g].map(([k, v]) => [k, [...v].sort()]));
    const manage = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];
    expect(asObject).toEqual({
      'asya.sh/asyncactors': ['get', 'list', 'patch', 'update', 'watch'],
      'asya.sh/asyncactors/status': ['get', 'patch', 'update'],
      'asya.sh/asyncactors/finalizers': ['update'],
      'apps/deployments': manage,
      'apps/statefulsets': manage,
      'batch/jobs': manage,
      'keda.sh/scaledobjects': manage,
      'keda.sh/scaledjobs': manage,
      'keda.sh/triggerauthentications': manage,
      'core/configmaps': manage,
      'core/serviceaccounts': manage,
      'core/services': manage,
      // Pods only to read their health; Events created once, then their series count patched.
      'core/pods': ['get', 'list', 'watch'],
      'events.k8s.io/events': ['create', 'patch'],
    });
  });

  test('users own AsyncActors: the controller neither creates nor deletes them', () => {
    const verbs = grants(rulesOf(clusterRole)).get('asya.sh/asyncactors')!;
    expect(verbs.has('create')).toBe(false);
    expect(verbs.has('delete')).toBe(false);
  });

  test('no access to Secrets at all, nor to RBAC, nodes or namespaces; pods only read', () => {
    const resources = allRules.flatMap((r) => r.resources);
    expect(allRules.filter((r) => r.resources.includes('pods')).flatMap((r) => r.verbs).sort()).toEqual(['get', 'list', 'watch']);
    for (const forbidden of ['secrets', 'roles', 'clusterroles', 'rolebindings', 'clusterrolebindings', 'nodes', 'namespaces', 'pods/exec']) {
      expect(resources).not.toContain(forbidden);
    }
  });

  test('Leases only in its own namespace, and after creation only its own Lease', () => {
    expect(leaseRole.metadata.namespace).toBe('asya-system');
    const leaseRules = rulesOf(leaseRole);
    expect(leaseRules.every((r) => r.apiGroups.join() === 'coordination.k8s.io' && r.resources.join() === 'leases')).toBe(true);
    const unnamed = leaseRules.filter((r) => !r.resourceNames);
    expect(unnamed.flatMap((r) => r.verbs)).toEqual(['create']);
    const named = leaseRules.filter((r) => r.resourceNames);
    expect(named.map((r) => r.resourceNames)).toEqual([['asya-controller']]);
    expect(rulesOf(clusterRole).some((r) => r.resources.includes('leases'))).toBe(false);
  });

  test('bound cluster-wide by default, to the controller’s ServiceAccount', () => {
    const binding = only(objects, 'ClusterRoleBinding', 'asya-controller') as unknown as { metadata: { namespace?: string }; roleRef: unknown; subjects: unknown };
    expect(binding.metadata.namespace).toBeUndefined();
    expect(clusterRole.metadata.namespace).toBeUndefined();
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'asya-controller' });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'asya-controller', namespace: 'asya-system' }]);
  });

  test('watching listed namespaces binds the rules only there', () => {
    const scoped = synthObjects({ watchNamespaces: ['team-a', 'team-b'] });
    expect(byKind(scoped, 'ClusterRoleBinding')).toEqual([]);
    const bindings = byKind(scoped, 'RoleBinding').filter((b) => (b as unknown as { roleRef: { kind: string } }).roleRef.kind === 'ClusterRole');
    expect(bindings.map((b) => b.metadata.namespace).sort()).toEqual(['team-a', 'team-b']);
    const env = JSON.stringify(only(scoped, 'Deployment', 'asya-controller'));
    expect(env).toContain('"name":"ASYA_WATCH_NAMESPACES","value":"team-a,team-b"');
  });

  test('only the controller mounts a ServiceAccount token', () => {
    for (const d of [...byKind(objects, 'Deployment'), ...byKind(objects, 'StatefulSet'), ...byKind(objects, 'Job')]) {
      const automount = (d.spec as { template: { spec: { automountServiceAccountToken?: boolean } } }).template.spec.automountServiceAccountToken;
      if (d.metadata.name === 'asya-controller') expect(automount).not.toBe(false);
      else expect(automount, `${d.kind}/${d.metadata.name}`).toBe(false);
    }
  });
});
