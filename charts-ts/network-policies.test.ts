/**
 * The NetworkPolicies `asya synth --network-policies` emits, judged by what they let through: a small
 * evaluator of NetworkPolicy semantics (a pod selected by a policy of a direction is isolated in that direction;
 * a connection passes if a rule of one of those policies matches the peer and the port) is asked about the
 * connections the platform makes and the ones it must refuse. No cluster or CNI runs here to enforce them.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import YAML from 'yaml';
import { validateKubeObject } from '../test/support/kube-schemas.ts';
import { asya } from '../test/support/dev-process.ts';
import type { KubeObject } from '../krm-functions/resource-list.ts';
import type { PlatformOptions, PlatformSettings } from './options.ts';
import { CREW_ROLES } from '../protocol/crew.ts';
import { at, byKind, only, synthObjects } from '../test/support/charts.ts';

interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}
interface Peer {
  namespaceSelector?: Selector;
  podSelector?: Selector;
  ipBlock?: { cidr: string };
}
interface Rule {
  to?: Peer[];
  from?: Peer[];
  ports?: { protocol?: string; port: number }[];
}
interface Policy {
  metadata: { name: string; namespace: string };
  spec: { podSelector: Selector; policyTypes: ('Ingress' | 'Egress')[]; ingress?: Rule[]; egress?: Rule[] };
}
/** A pod (namespace and labels) or an address outside the cluster. */
type Endpoint = { ns: string; labels: Record<string, string> } | { ip: string };

function selects(selector: Selector, labels: Record<string, string>): boolean {
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpression = (selector.matchExpressions ?? []).every((e) =>
    e.operator === 'Exists' ? k(e.key) : e.operator === 'DoesNotExist' ? !k(e.key) : e.operator === 'In' ? e.values!.includes(labels[e.key]!) : !e.values!.includes(labels[e.key]!),
  );
  function k(key: string) {
    return key in labels;
  }
  return byLabel && byExpression;
}

const ipv4 = (ip: string) => ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipv4(ip) / size) === Math.floor(ipv4(base!) / size);
}

/** Peer matching as the API defines it; `policyNs` is where a pod selector alone looks. */
function peerMatches(peer: Peer, other: Endpoint, policyNs: string): boolean {
  if ('ip' in other) return peer.ipBlock !== undefined && inCidr(other.ip, peer.ipBlock.cidr);
  if (peer.ipBlock) return false; // ipBlock is for addresses outside the cluster
  const nsOk = peer.namespaceSelector ? selects(peer.namespaceSelector, { 'kubernetes.io/metadata.name': other.ns }) : other.ns === policyNs;
  return nsOk && (!peer.podSelector || selects(peer.podSelector, other.labels));
}

function allowedBy(policies: Policy[], direction: 'Ingress' | 'Egress', pod: Endpoint, other: Endpoint, port: number, protocol: string): boolean {
  if ('ip' in pod) return true;
  const isolating = policies.filter((p) => p.metadata.namespace === pod.ns && p.spec.policyTypes.includes(direction) && selects(p.spec.podSelector, pod.labels));
  if (isolating.length === 0) return true;
  return isolating.some((p) =>
    (direction === 'Egress' ? p.spec.egress : p.spec.ingress)?.some((rule) => {
      const peers = direction === 'Egress' ? rule.to : rule.from;
      const peerOk = !peers || peers.some((peer) => peerMatches(peer, other, p.metadata.namespace));
      const portOk = !rule.ports || rule.ports.some((r) => r.port === port && (r.protocol ?? 'TCP') === protocol);
      return peerOk && portOk;
    }),
  );
}

const connects = (policies: Policy[], from: Endpoint, to: Endpoint, port: number, protocol = 'TCP') =>
  allowedBy(policies, 'Egress', from, to, port, protocol) && allowedBy(policies, 'Ingress', to, from, port, protocol);

const NS = 'asya-system';
const pods = {
  actor: { ns: 'documents', labels: { app: 'chunk', 'asya.sh/asya': 'chunk', 'asya.sh/workload': 'deployment' } },
  crew: { ns: NS, labels: { app: 'happy-end', 'asya.sh/asya': 'happy-end' } },
  gateway: { ns: NS, labels: { 'app.kubernetes.io/name': 'asya-gateway', 'app.kubernetes.io/part-of': 'asya' } },
  controller: { ns: NS, labels: { 'app.kubernetes.io/name': 'asya-controller', 'app.kubernetes.io/part-of': 'asya' } },
  broker: { ns: 'messaging', labels: { 'app.kubernetes.io/name': 'rabbitmq' } },
  dns: { ns: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
  postgres: { ns: NS, labels: { 'app.kubernetes.io/name': 'asya-postgresql' } },
  ingress: { ns: 'ingress-nginx', labels: { app: 'ingress-nginx' } },
  stranger: { ns: 'default', labels: { app: 'curl' } },
  apiServer: { ip: '172.18.0.2' },
  internet: { ip: '93.184.216.34' },
};

const networkPolicies: NonNullable<PlatformSettings['networkPolicies']> = {
  enabled: true,
  broker: [{ namespaceLabels: { 'kubernetes.io/metadata.name': 'messaging' }, podLabels: { 'app.kubernetes.io/name': 'rabbitmq' } }],
  apiServer: ['172.18.0.2/32'],
  apiServerPort: 6443,
  gatewayClients: [{ namespaceLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } }],
};
const STANDARD: PlatformOptions = {
  pattern: 'standard',
  gateway: { tokenSecret: 'asya-tokens' },
  watchNamespaces: ['documents'],
  platform: { transports: { rabbitmq: { host: 'rabbitmq.messaging' } }, networkPolicies },
};
const policiesOf = (objects: KubeObject[]) => byKind(objects, 'NetworkPolicy') as unknown as Policy[];

describe('what the policies let through (standard pattern, actors in a watched namespace)', () => {
  const policies = policiesOf(synthObjects(STANDARD));

  test('one actor policy per actor namespace, one for the gateway, one for the controller; all schema-valid', async () => {
    expect(policies.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).sort()).toEqual(['asya-system/asya-actors', 'asya-system/asya-controller', 'asya-system/asya-gateway', 'documents/asya-actors']);
    for (const p of policies) await validateKubeObject(p as unknown as KubeObject);
  });

  test('every crew actor’s pod, as the expanded crew labels it (fan-in included), is an actor pod to the policies', () => {
    const expanded = synthObjects({ ...STANDARD, crew: { expand: true, ephemeralResults: true } });
    const expandedPolicies = policiesOf(expanded);
    for (const role of CREW_ROLES) {
      const pod = { ns: NS, labels: at(only(expanded, 'Deployment', role), 'spec', 'template', 'metadata', 'labels') as Record<string, string> };
      expect(connects(expandedPolicies, pod, pods.broker, 5672), role).toBe(true);
      expect(connects(expandedPolicies, pod, pods.gateway, 8080), role).toBe(true);
      expect(connects(expandedPolicies, pod, pods.internet, 443), role).toBe(false);
      expect(connects(expandedPolicies, pod, pods.postgres, 5432), role).toBe(false);
    }
  });

  test('actor pods (and the crew) reach DNS, the broker and the gateway, and nothing else', () => {
    for (const actor of [pods.actor, pods.crew]) {
      expect(connects(policies, actor, pods.dns, 53, 'UDP')).toBe(true);
      expect(connects(policies, actor, pods.broker, 5672)).toBe(true);
      expect(connects(policies, actor, pods.gateway, 8080)).toBe(true);
      expect(connects(policies, actor, pods.broker, 15672)).toBe(false);
      expect(connects(policies, actor, pods.postgres, 5432)).toBe(false);
      expect(connects(policies, actor, pods.internet, 443)).toBe(false);
      expect(connects(policies, actor, pods.apiServer, 6443)).toBe(false);
    }
  });

  test('the gateway accepts actors and its clients only', () => {
    expect(connects(policies, pods.ingress, pods.gateway, 8080)).toBe(true);
    expect(connects(policies, pods.stranger, pods.gateway, 8080)).toBe(false);
    expect(connects(policies, { ns: 'other', labels: pods.actor.labels }, pods.gateway, 8080)).toBe(false); // an actor namespace the platform does not manage
    expect(connects(policies, pods.gateway, pods.postgres, 5432)).toBe(true); // its own egress is not restricted
  });

  test('the controller reaches the API server, the broker and DNS only', () => {
    expect(connects(policies, pods.controller, pods.apiServer, 6443)).toBe(true);
    expect(connects(policies, pods.controller, pods.broker, 5672)).toBe(true);
    expect(connects(policies, pods.controller, pods.dns, 53, 'UDP')).toBe(true);
    expect(connects(policies, pods.controller, pods.gateway, 8080)).toBe(false);
    expect(connects(policies, pods.controller, pods.internet, 443)).toBe(false);
    expect(connects(policies, pods.stranger, pods.broker, 5672)).toBe(true); // pods the policies do not select are untouched
  });
});

test('actorEgress opens further destinations to actors; with all namespaces watched, actors anywhere reach the gateway', () => {
  const policies = policiesOf(
    synthObjects({ ...STANDARD, watchNamespaces: [], platform: { ...STANDARD.platform, networkPolicies: { ...networkPolicies, actorEgress: [{ cidr: '93.184.216.0/24', ports: [443] }] } } }),
  );
  expect(connects(policies, pods.crew, pods.internet, 443)).toBe(true);
  expect(connects(policies, pods.crew, pods.internet, 80)).toBe(false);
  expect(connects(policies, { ns: 'other', labels: pods.actor.labels }, pods.gateway, 8080)).toBe(true);
});

test('a trial finds its own broker; SQS uses port 443; without the setting there are no policies', () => {
  const trial = policiesOf(synthObjects({ pattern: 'minimal', trial: true, platform: { networkPolicies: { enabled: true, apiServer: ['10.0.0.1/32'] } } }));
  const trialBroker = { ns: NS, labels: { 'app.kubernetes.io/name': 'rabbitmq', 'app.kubernetes.io/part-of': 'asya' } };
  expect(connects(trial, pods.crew, trialBroker, 5672)).toBe(true);
  expect(connects(trial, pods.crew, pods.broker, 5672)).toBe(false);

  const sqs = policiesOf(synthObjects({ pattern: 'minimal', transport: 'sqs', platform: { networkPolicies: { enabled: true, broker: [{ cidr: '10.20.0.0/16' }], apiServer: ['10.0.0.1/32'] } } }));
  expect(connects(sqs, pods.controller, { ip: '10.20.3.4' }, 443)).toBe(true);
  expect(connects(sqs, pods.controller, { ip: '10.20.3.4' }, 5672)).toBe(false);

  expect(policiesOf(synthObjects({ ...STANDARD, platform: { networkPolicies: { ...networkPolicies, enabled: false } } }))).toEqual([]);
  expect(policiesOf(synthObjects({ ...STANDARD, platform: {} }))).toEqual([]);
});

test('what the policies need and cannot guess is an error naming the setting', () => {
  expect(() => synthObjects({ pattern: 'minimal', platform: { networkPolicies: { enabled: true, apiServer: ['10.0.0.1/32'] } } })).toThrow('networkPolicies.broker is required');
  expect(() => synthObjects({ pattern: 'minimal', platform: { networkPolicies: { enabled: true, broker: [{ cidr: '10.0.0.0/8' }] } } })).toThrow('networkPolicies.apiServer is required for the controller');
  expect(() => synthObjects({ pattern: 'minimal', platform: { networkPolicies: { enabled: true, broker: [{ cidr: '10.0.0/8' }], apiServer: ['10.0.0.1/32'] } } })).toThrow(
    'functionConfig spec.networkPolicies.broker.0.cidr: must be a CIDR such as 10.0.0.0/16',
  );
  expect(() => synthObjects({ pattern: 'minimal', platform: { networkPolicies: { enabled: true, broker: [{ cidr: '10.0.0.0/8', podLabels: { a: 'b' } }], apiServer: ['10.0.0.1/32'] } } })).toThrow(
    'give either cidr, or namespaceLabels and/or podLabels',
  );
});

test('asya synth --network-policies with the addresses from the platform file writes the policies chart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'asya-netpol-'));
  try {
    const settings = { apiVersion: 'fn.asya.sh/v1alpha1', kind: 'AsyaPlatform', metadata: { name: 'p' }, spec: { networkPolicies: { broker: networkPolicies.broker, apiServer: networkPolicies.apiServer } } };
    writeFileSync(join(dir, 'platform.yaml'), YAML.stringify(settings));
    const run = await asya(['synth', '--network-policies', '--platform', 'platform.yaml', '--crew-ephemeral-results', '-o', 'out'], {}, dir);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('out/60-asya-network-policies.k8s.yaml');
    const written = YAML.parseAllDocuments(readFileSync(join(dir, 'out/60-asya-network-policies.k8s.yaml'), 'utf8')).map((d) => d.toJS() as Policy);
    expect(written.map((p) => p.metadata.name).sort()).toEqual(['asya-actors', 'asya-controller']);

    const without = await asya(['synth', '--network-policies', '--crew-ephemeral-results', '-o', 'out2'], {}, dir);
    expect(without.status).toBe(1);
    expect(without.stderr).toContain('asya synth: networkPolicies.broker is required');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
