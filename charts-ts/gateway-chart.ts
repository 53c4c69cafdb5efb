/**
 * The MCP/REST gateway: a Deployment behind a Service, its tools file as a ConfigMap, the database URL and
 * tokens by Secret reference only (the charts never hold them), and a Job that runs the migrations once
 * per version so replicas start with ASYA_GATEWAY_AUTO_MIGRATE=false and never race each other.
 */
import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-33';
import type { Construct } from 'constructs';
import pkg from '../package.json' with { type: 'json' };
import { GATEWAY_SETTINGS } from '../gateway/settings.ts';
import { transportEnv } from '../krm-functions/transport-env.ts';
import { payloadStoreValues, payloadsVolume, platformLogEnv } from '../krm-functions/platform-config.ts';
import { envName, toEnv } from '../settings/index.ts';
import { TELEMETRY_SETTINGS } from '../telemetry/settings.ts';
import { platformLabels, selectorFor } from './labels.ts';
import { GATEWAY_NAME, type ResolvedOptions } from './options.ts';
import { containerSecurity, podSecurity, resources, tmpMount, tmpVolume } from './security.ts';

export const GATEWAY_PORT = 8080;
/** The port of the gateway's Service, which sidecars, the crew and an Ingress reach. */
export const GATEWAY_SERVICE_PORT = 80;
export const TOOLS_CONFIGMAP = `${GATEWAY_NAME}-tools`;
const TOOLS_DIR = '/etc/asya/tools';
const TOOLS_FILE = 'tools.yaml';
/** A Job's pod template is immutable, so each version gets a Job of its own name. */
export const MIGRATION_JOB = `${GATEWAY_NAME}-migrate-${pkg.version.replace(/[^a-z0-9]+/gi, '-')}`;

export class GatewayChart extends Chart {
  constructor(scope: Construct, id: string, options: ResolvedOptions) {
    super(scope, id);
    const gateway = options.gateway;
    if (!gateway) throw new Error('GatewayChart needs gateway options');
    const name = GATEWAY_NAME;
    const namespace = options.namespace;
    const labels = platformLabels(name, 'gateway');
    const meta = (n: string) => ({ name: n, namespace, labels });

    // The gateway never calls the Kubernetes API: no token in its pods.
    new k8s.KubeServiceAccount(this, 'service-account', { metadata: meta(name), automountServiceAccountToken: false });

    const secretEnv = (key: keyof typeof GATEWAY_SETTINGS.settings & string, secret: string, secretKey: string, optional = false): k8s.EnvVar => ({
      name: envName(GATEWAY_SETTINGS, key),
      valueFrom: { secretKeyRef: { name: secret, key: secretKey, ...(optional ? { optional: true } : {}) } },
    });
    const database = secretEnv('databaseUrl', gateway.databaseSecret.name, gateway.databaseSecret.key);
    const commonEnv: k8s.EnvVar[] = [database, ...toEnv(GATEWAY_SETTINGS, { logLevel: 'INFO' }), ...platformLogEnv(options.platform)];

    const env: k8s.EnvVar[] = [
      ...toEnv(GATEWAY_SETTINGS, { port: GATEWAY_PORT }),
      ...commonEnv,
      ...toEnv(GATEWAY_SETTINGS, { autoMigrate: false, ...(gateway.tools !== undefined ? { configPath: `${TOOLS_DIR}/${TOOLS_FILE}` } : {}) }),
      // The internal token is required; of the client keys any may be absent, but the gateway refuses to
      // start without one (docs/gateway.md, Security). Open only when asked for (trial, --gateway-open).
      ...(gateway.tokenSecret
        ? [
            secretEnv('internalToken', gateway.tokenSecret, 'internal-token'),
            secretEnv('apiToken', gateway.tokenSecret, 'api-token', true),
            secretEnv('clientTokens', gateway.tokenSecret, 'client-tokens', true),
            secretEnv('adminToken', gateway.tokenSecret, 'admin-token', true),
          ]
        : toEnv(GATEWAY_SETTINGS, { auth: 'none' })),
      ...(transportEnv(options.transport, options.platform) as k8s.EnvVar[]),
      ...toEnv(GATEWAY_SETTINGS, payloadStoreValues(options.platform.payloads)),
      ...toEnv(TELEMETRY_SETTINGS, { endpoint: options.platform.otlpEndpoint || undefined }),
      ...toEnv(GATEWAY_SETTINGS, { prometheusUrl: options.prometheus?.url, prometheusSelector: options.prometheus?.selector }),
    ];
    const payloads = payloadsVolume(options.platform.payloads);
    const mounts: k8s.VolumeMount[] = [tmpMount, ...(gateway.tools !== undefined ? [{ name: 'tools', mountPath: TOOLS_DIR, readOnly: true }] : []), ...(payloads ? [payloads.mount] : [])];
    const volumes: k8s.Volume[] = [
      tmpVolume,
      ...(gateway.tools !== undefined ? [{ name: 'tools', configMap: { name: TOOLS_CONFIGMAP } }] : []),
      ...(payloads ? [payloads.volume] : []),
    ];

    if (gateway.tools !== undefined) {
      new k8s.KubeConfigMap(this, 'tools', { metadata: meta(TOOLS_CONFIGMAP), data: { [TOOLS_FILE]: gateway.tools } });
    }

    const httpGet = (path: string) => ({ path, port: k8s.IntOrString.fromString('http') });
    new k8s.KubeDeployment(this, 'deployment', {
      metadata: meta(name),
      spec: {
        replicas: gateway.replicas,
        selector: { matchLabels: selectorFor(name) },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: name,
            automountServiceAccountToken: false,
            securityContext: podSecurity(),
            // SSE streams and in-flight calls finish within ASYA_GATEWAY_SHUTDOWN_TIMEOUT (10 s) after SIGTERM.
            terminationGracePeriodSeconds: 30,
            containers: [
              {
                name: 'gateway',
                image: options.image,
                imagePullPolicy: options.imagePullPolicy,
                args: ['gateway'],
                env,
                ports: [{ name: 'http', containerPort: GATEWAY_PORT }],
                resources: resources({ cpu: ['100m', '1'], memory: ['128Mi', '512Mi'] }),
                // /health: the process lives; /ready: the envelope store answers (503 while PostgreSQL is away).
                livenessProbe: { httpGet: httpGet('/health'), initialDelaySeconds: 10, periodSeconds: 30, timeoutSeconds: 3, failureThreshold: 3 },
                readinessProbe: { httpGet: httpGet('/ready'), initialDelaySeconds: 5, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
                securityContext: containerSecurity(),
                volumeMounts: mounts,
              },
            ],
            volumes,
          },
        },
      },
    });

    new k8s.KubeService(this, 'service', {
      metadata: meta(name),
      spec: { selector: selectorFor(name), ports: [{ name: 'http', port: GATEWAY_SERVICE_PORT, targetPort: k8s.IntOrString.fromString('http') }] },
    });

    // Labels of its own: with the gateway's, the Service would send requests to the migration pod.
    const migrationLabels = platformLabels(`${name}-migrate`, 'gateway');
    new k8s.KubeJob(this, 'migrate', {
      metadata: { name: MIGRATION_JOB, namespace, labels: migrationLabels },
      spec: {
        // The database may still be starting: retry for a while rather than fail the rollout.
        backoffLimit: 10,
        template: {
          metadata: { labels: migrationLabels },
          spec: {
            restartPolicy: 'OnFailure',
            serviceAccountName: name,
            automountServiceAccountToken: false,
            securityContext: podSecurity(),
            containers: [
              {
                name: 'migrate',
                image: options.image,
                imagePullPolicy: options.imagePullPolicy,
                args: ['gateway', 'migrate'],
                env: commonEnv,
                resources: resources({ cpu: ['50m', '500m'], memory: ['64Mi', '256Mi'] }),
                securityContext: containerSecurity(),
                volumeMounts: [tmpMount],
              },
            ],
            volumes: [tmpVolume],
          },
        },
      },
    });
  }
}
