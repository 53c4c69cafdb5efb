/**
 * NetworkPolicies from the platform settings' `networkPolicies` (docs/platform.md, "Network isolation"):
 * - actor pods (every pod labelled asya.sh/asya, the crew included) reach only DNS, the broker and the gateway,
 *   plus `actorEgress`; one policy in the platform namespace and in each watched namespace;
 * - the gateway accepts connections only from actor pods and `gatewayClients`, on its port;
 * - the controller reaches only DNS, the API server and the broker.
 * Each policy isolates only the pods it selects, in the direction it names; nothing else in the namespaces
 * changes. They take effect only where the CNI enforces NetworkPolicy.
 */
import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-33';
import type { Construct } from 'constructs';
import type { PlatformConfig } from '../krm-functions/platform-config.ts';
import { ACTOR_POD_LABEL } from '../krm-functions/inject-sidecar/pod-template.ts';
import { GATEWAY_PORT } from './gateway-chart.ts';
import { OTEL_COLLECTOR_NAME, OTLP_HTTP_PORT } from './otel-collector-chart.ts';
import { platformLabels, selectorFor } from './labels.ts';
import { CONTROLLER_NAME, GATEWAY_NAME, PlatformOptionsError, TRIAL_RABBITMQ_NAME, type ResolvedOptions } from './options.ts';

type Settings = NonNullable<PlatformConfig['networkPolicies']>;
type Peer = NonNullable<Settings['broker']>[number];

const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
const SQS_PORT = 443;

const tcp = (port: number): k8s.NetworkPolicyPort => ({ protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) });

function peer(p: Peer): k8s.NetworkPolicyPeer {
  if (p.cidr !== undefined) return { ipBlock: { cidr: p.cidr } };
  return {
    ...(p.namespaceLabels ? { namespaceSelector: { matchLabels: p.namespaceLabels } } : {}),
    ...(p.podLabels ? { podSelector: { matchLabels: p.podLabels } } : {}),
  };
}

/** The cluster DNS (kube-dns / CoreDNS, labelled k8s-app=kube-dns in kube-system on every major distribution). */
const DNS_RULE: k8s.NetworkPolicyEgressRule = {
  to: [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
  ports: [{ protocol: 'UDP', port: k8s.IntOrString.fromNumber(53) }, tcp(53)],
};

const inNamespace = (namespace: string, podLabels: Record<string, string>): k8s.NetworkPolicyPeer => ({
  namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: namespace } },
  podSelector: { matchLabels: podLabels },
});

/** The settings, checked: what the policies cannot be written without is an error naming the setting. */
export function networkPolicySettings(options: ResolvedOptions): Settings & { broker: Peer[]; apiServer: string[] } {
  const settings = options.platform.networkPolicies;
  if (!settings?.enabled) throw new PlatformOptionsError('network policies are not enabled (networkPolicies.enabled, --network-policies)');
  const trialBroker = options.trial && options.transport === 'rabbitmq' ? [{ namespaceLabels: { [NAMESPACE_NAME_LABEL]: options.namespace }, podLabels: selectorFor(TRIAL_RABBITMQ_NAME) }] : undefined;
  const broker = settings.broker ?? trialBroker;
  if (!broker) {
    throw new PlatformOptionsError('networkPolicies.broker is required: the broker as CIDRs ([{cidr: 10.0.0.0/16}]) or in-cluster labels ([{namespaceLabels: {...}, podLabels: {...}}])');
  }
  if (!settings.apiServer) {
    throw new PlatformOptionsError('networkPolicies.apiServer is required for the controller: the API server endpoint addresses as CIDRs (kubectl get endpoints kubernetes), e.g. [172.18.0.2/32]');
  }
  return { ...settings, broker, apiServer: settings.apiServer };
}

export class NetworkPolicyChart extends Chart {
  constructor(scope: Construct, id: string, options: ResolvedOptions) {
    super(scope, id);
    const settings = networkPolicySettings(options);
    const namespace = options.namespace;
    const brokerPorts = settings.brokerPorts ?? (options.transport === 'sqs' ? [SQS_PORT] : [options.platform.transports.rabbitmq.port]);
    const brokerRule: k8s.NetworkPolicyEgressRule = { to: settings.broker.map(peer), ports: brokerPorts.map(tcp) };
    const actorNamespaces = [...new Set([namespace, ...options.watchNamespaces])];
    const actorPods: k8s.LabelSelector = { matchExpressions: [{ key: ACTOR_POD_LABEL, operator: 'Exists' }] };
    const policy = (name: string, ns: string, spec: k8s.NetworkPolicySpec) =>
      new k8s.KubeNetworkPolicy(this, `${ns}-${name}`, { metadata: { name, namespace: ns, labels: platformLabels(name, 'network-policy') }, spec });

    for (const ns of actorNamespaces) {
      policy('asya-actors', ns, {
        podSelector: actorPods,
        policyTypes: ['Egress'],
        egress: [
          DNS_RULE,
          brokerRule,
          ...(options.gateway ? [{ to: [inNamespace(namespace, selectorFor(GATEWAY_NAME))], ports: [tcp(GATEWAY_PORT)] }] : []),
          // Spans go to the platform's collector; one of your own is reached through actorEgress.
          ...(options.otelCollector ? [{ to: [inNamespace(namespace, selectorFor(OTEL_COLLECTOR_NAME))], ports: [tcp(OTLP_HTTP_PORT)] }] : []),
          ...settings.actorEgress.map((e) => ({ to: [{ ipBlock: { cidr: e.cidr } }], ports: e.ports.map(tcp) })),
        ],
      });
    }
    if (options.gateway) {
      // All namespaces when the controller watches all of them: an actor may live anywhere.
      const actorNamespaceSelector: k8s.LabelSelector = options.watchNamespaces.length
        ? { matchExpressions: [{ key: NAMESPACE_NAME_LABEL, operator: 'In', values: actorNamespaces }] }
        : {};
      policy(GATEWAY_NAME, namespace, {
        podSelector: { matchLabels: selectorFor(GATEWAY_NAME) },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ namespaceSelector: actorNamespaceSelector, podSelector: actorPods }, ...settings.gatewayClients.map(peer)], ports: [tcp(GATEWAY_PORT)] }],
      });
    }
    policy(CONTROLLER_NAME, namespace, {
      podSelector: { matchLabels: selectorFor(CONTROLLER_NAME) },
      policyTypes: ['Egress'],
      egress: [DNS_RULE, { to: settings.apiServer.map((cidr) => ({ ipBlock: { cidr } })), ports: [tcp(settings.apiServerPort)] }, brokerRule],
    });
  }
}
