/**
 * The live controller: its ServiceAccount, least-privilege RBAC (rbac.ts), the platform settings it hands
 * the KRM functions, and a Deployment of two replicas that elect a leader on a Lease, so a rollout or a
 * lost node never leaves actors unreconciled for long.
 */
import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-33';
import type { Construct } from 'constructs';
import YAML from 'yaml';
import { TRANSPORTS } from '../api/index.ts';
import { transportEnv } from '../krm-functions/transport-env.ts';
import { platformLogEnv } from '../krm-functions/platform-config.ts';
import { CONTROLLER_SETTINGS } from '../controller/settings.ts';
import { envName, toEnv } from '../settings/index.ts';
import { CONTROLLER_LIVENESS_PATH, CONTROLLER_PORT, CONTROLLER_READINESS_PATH, PLATFORM_CONFIG_DIR, PLATFORM_CONFIG_FILE } from './controller-contract.ts';
import { platformLabels, selectorFor } from './labels.ts';
import { asFunctionConfig, CONTROLLER_NAME, type ResolvedOptions } from './options.ts';
import { CONTROLLER_RULES, leaderElectionRules } from './rbac.ts';
import { containerSecurity, podSecurity, resources, tmpMount, tmpVolume } from './security.ts';

const PLATFORM_CONFIGMAP = 'asya-platform';

/**
 * Queue provisioning goes through transport/, which reads the sidecar's variable names. Actors may use
 * any broker of the registry, so every one is configured; ASYA_TRANSPORT names the platform's default.
 */
function brokerEnv(options: ResolvedOptions): k8s.EnvVar[] {
  const env = new Map<string, k8s.EnvVar>();
  for (const transport of [options.transport, ...TRANSPORTS]) {
    for (const e of transportEnv(transport, options.platform)) if (!env.has(e.name)) env.set(e.name, e as k8s.EnvVar);
  }
  return [...env.values()];
}

export class ControllerChart extends Chart {
  constructor(scope: Construct, id: string, options: ResolvedOptions) {
    super(scope, id);
    const name = CONTROLLER_NAME;
    const namespace = options.namespace;
    const labels = platformLabels(name, 'controller');
    const meta = (n: string, ns = namespace) => ({ name: n, namespace: ns, labels });
    const clusterMeta = (n: string) => ({ name: n, labels });
    const subject = { kind: 'ServiceAccount', name, namespace };

    // The token is needed: talking to the API server is this pod's whole job.
    new k8s.KubeServiceAccount(this, 'service-account', { metadata: meta(name), automountServiceAccountToken: true });
    new k8s.KubeClusterRole(this, 'cluster-role', { metadata: clusterMeta(name), rules: CONTROLLER_RULES });
    const roleRef = { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name };
    if (options.watchNamespaces.length === 0) {
      new k8s.KubeClusterRoleBinding(this, 'cluster-role-binding', { metadata: clusterMeta(name), roleRef, subjects: [subject] });
    } else {
      // Watching a list of namespaces: the same rules, granted only there.
      for (const ns of options.watchNamespaces) {
        new k8s.KubeRoleBinding(this, `role-binding-${ns}`, { metadata: meta(name, ns), roleRef, subjects: [subject] });
      }
    }
    const leaseRole = `${name}-leader-election`;
    new k8s.KubeRole(this, 'leader-election-role', { metadata: meta(leaseRole), rules: leaderElectionRules(name) });
    new k8s.KubeRoleBinding(this, 'leader-election-binding', {
      metadata: meta(leaseRole),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: leaseRole },
      subjects: [subject],
    });

    new k8s.KubeConfigMap(this, 'platform', {
      metadata: meta(PLATFORM_CONFIGMAP),
      data: { [PLATFORM_CONFIG_FILE]: YAML.stringify(asFunctionConfig(options.platform)) },
    });

    const env: k8s.EnvVar[] = [
      ...toEnv(CONTROLLER_SETTINGS, {
        platformConfig: `${PLATFORM_CONFIG_DIR}/${PLATFORM_CONFIG_FILE}`,
        ...(options.watchNamespaces.length ? { namespaces: options.watchNamespaces } : {}),
        leaderElection: true,
        leaseName: name,
      }),
      ...platformLogEnv(options.platform),
      { name: envName(CONTROLLER_SETTINGS, 'podNamespace'), valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: envName(CONTROLLER_SETTINGS, 'podName'), valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      ...toEnv(CONTROLLER_SETTINGS, {
        metricsAddr: { port: CONTROLLER_PORT },
        // Queues shared across clusters: every cluster declares them, none deletes them (see options.ts).
        ...(options.sharedQueues ? { queueDeletion: 'never' as const } : {}),
      }),
      ...brokerEnv(options),
    ];
    const httpProbe = (path: string, port: string, timing: Partial<k8s.Probe>): k8s.Probe => ({
      httpGet: { path, port: k8s.IntOrString.fromString(port) },
      timeoutSeconds: 3,
      failureThreshold: 3,
      ...timing,
    });
    new k8s.KubeDeployment(this, 'deployment', {
      metadata: meta(name),
      spec: {
        replicas: 2,
        selector: { matchLabels: selectorFor(name) },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: name,
            securityContext: podSecurity(),
            containers: [
              {
                name: 'controller',
                image: options.image,
                imagePullPolicy: options.imagePullPolicy,
                args: ['controller'],
                env,
                ports: [{ name: 'metrics', containerPort: CONTROLLER_PORT }],
                resources: resources({ cpu: ['100m', '1'], memory: ['128Mi', '512Mi'] }),
                livenessProbe: httpProbe(CONTROLLER_LIVENESS_PATH, 'metrics', { initialDelaySeconds: 15, periodSeconds: 20 }),
                readinessProbe: httpProbe(CONTROLLER_READINESS_PATH, 'metrics', { initialDelaySeconds: 5, periodSeconds: 10 }),
                securityContext: containerSecurity(),
                volumeMounts: [{ name: 'platform', mountPath: PLATFORM_CONFIG_DIR, readOnly: true }, tmpMount],
              },
            ],
            volumes: [{ name: 'platform', configMap: { name: PLATFORM_CONFIGMAP } }, tmpVolume],
          },
        },
      },
    });
    new k8s.KubeService(this, 'metrics-service', {
      metadata: meta(`${name}-metrics`),
      spec: { selector: selectorFor(name), ports: [{ name: 'metrics', port: CONTROLLER_PORT, targetPort: k8s.IntOrString.fromString('metrics') }] },
    });
  }
}
