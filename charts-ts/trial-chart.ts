/**
 * NOT FOR PRODUCTION. A single-replica RabbitMQ and PostgreSQL so a trial cluster runs the whole platform
 * from one `asya synth --trial`: fixed trial passwords in Secrets, one replica, no backups, no TLS. Use a
 * managed broker and database (or their operators) for anything that matters.
 */
import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-33';
import type { Construct } from 'constructs';
import { platformLabels, selectorFor, type Component } from './labels.ts';
import { DEFAULT_DATABASE_SECRET, TRIAL_POSTGRES_NAME, TRIAL_RABBITMQ_NAME, TRIAL_RABBITMQ_SECRET, type ResolvedOptions } from './options.ts';
import { containerSecurity, podSecurity, resources, tmpMount, tmpVolume, type ResourceSpec } from './security.ts';

export const TRIAL_ANNOTATION = 'asya.sh/trial-only';
const TRIAL_NOTE = 'single replica with a fixed password: for trying Asya, not for production';
export const RABBITMQ_IMAGE = 'rabbitmq:4.1-management';
export const POSTGRES_IMAGE = 'postgres:17';
/** The uid both official images run their server as. */
const SERVICE_UID = 999;

interface TrialService {
  name: string;
  component: Component;
  image: string;
  ports: { name: string; port: number }[];
  env: k8s.EnvVar[];
  dataPath: string;
  /** Writable paths besides the data volume and /tmp, each an emptyDir. */
  scratch: { name: string; path: string }[];
  probe: k8s.Probe;
  resources: ResourceSpec;
}

function trialStatefulSet(chart: Chart, namespace: string, svc: TrialService): void {
  const labels = platformLabels(svc.name, svc.component);
  const metadata = { name: svc.name, namespace, labels, annotations: { [TRIAL_ANNOTATION]: TRIAL_NOTE } };
  new k8s.KubeService(chart, `${svc.name}-service`, {
    metadata,
    spec: { selector: selectorFor(svc.name), ports: svc.ports.map((p) => ({ name: p.name, port: p.port, targetPort: k8s.IntOrString.fromString(p.name) })) },
  });
  new k8s.KubeStatefulSet(chart, `${svc.name}-statefulset`, {
    metadata,
    spec: {
      serviceName: svc.name,
      replicas: 1,
      selector: { matchLabels: selectorFor(svc.name) },
      template: {
        metadata: { labels },
        spec: {
          automountServiceAccountToken: false,
          securityContext: podSecurity(SERVICE_UID),
          containers: [
            {
              name: svc.component.replace('trial-', ''),
              image: svc.image,
              imagePullPolicy: 'IfNotPresent',
              env: svc.env,
              ports: svc.ports.map((p) => ({ name: p.name, containerPort: p.port })),
              resources: resources(svc.resources),
              readinessProbe: { ...svc.probe, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
              livenessProbe: { ...svc.probe, initialDelaySeconds: 60, periodSeconds: 30, timeoutSeconds: 10, failureThreshold: 5 },
              securityContext: containerSecurity(SERVICE_UID),
              volumeMounts: [{ name: 'data', mountPath: svc.dataPath }, tmpMount, ...svc.scratch.map((s) => ({ name: s.name, mountPath: s.path }))],
            },
          ],
          volumes: [tmpVolume, ...svc.scratch.map((s) => ({ name: s.name, emptyDir: {} }))],
        },
      },
      volumeClaimTemplates: [
        { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: k8s.Quantity.fromString('1Gi') } } } },
      ],
    },
  });
}

function trialSecret(chart: Chart, namespace: string, name: string, component: Component, data: Record<string, string>): void {
  new k8s.KubeSecret(chart, `${name}-secret`, {
    metadata: { name, namespace, labels: platformLabels(name, component), annotations: { [TRIAL_ANNOTATION]: TRIAL_NOTE } },
    type: 'Opaque',
    stringData: data,
  });
}

export class TrialRabbitMqChart extends Chart {
  constructor(scope: Construct, id: string, options: ResolvedOptions) {
    super(scope, id);
    const { namespace } = options;
    const rabbitmq = options.platform.transports.rabbitmq;
    trialSecret(this, namespace, TRIAL_RABBITMQ_SECRET, 'trial-rabbitmq', { username: rabbitmq.username, password: 'asya-trial-only' });
    trialStatefulSet(this, namespace, {
      name: TRIAL_RABBITMQ_NAME,
      component: 'trial-rabbitmq',
      image: RABBITMQ_IMAGE,
      ports: [
        { name: 'amqp', port: 5672 },
        { name: 'management', port: 15672 },
      ],
      env: [
        { name: 'RABBITMQ_DEFAULT_USER', valueFrom: { secretKeyRef: { name: TRIAL_RABBITMQ_SECRET, key: 'username' } } },
        { name: 'RABBITMQ_DEFAULT_PASS', valueFrom: { secretKeyRef: { name: TRIAL_RABBITMQ_SECRET, key: 'password' } } },
      ],
      // The Erlang cookie and the message store live in the data volume (HOME of the rabbitmq user).
      dataPath: '/var/lib/rabbitmq',
      scratch: [],
      probe: { exec: { command: ['rabbitmq-diagnostics', '-q', 'check_port_connectivity'] } },
      resources: { cpu: ['200m', '1'], memory: ['512Mi', '1Gi'] },
    });
  }
}

export class TrialPostgresChart extends Chart {
  constructor(scope: Construct, id: string, options: ResolvedOptions) {
    super(scope, id);
    const { namespace } = options;
    const password = 'asya-trial-only';
    trialSecret(this, namespace, TRIAL_POSTGRES_NAME, 'trial-postgresql', { password });
    const host = `${TRIAL_POSTGRES_NAME}.${namespace}.svc.cluster.local`;
    // The gateway's own Secret, in the shape a production database Secret must have too.
    trialSecret(this, namespace, DEFAULT_DATABASE_SECRET.name, 'trial-postgresql', {
      [DEFAULT_DATABASE_SECRET.key]: `postgres://asya:${password}@${host}:5432/asya?sslmode=disable`,
    });
    trialStatefulSet(this, namespace, {
      name: TRIAL_POSTGRES_NAME,
      component: 'trial-postgresql',
      image: POSTGRES_IMAGE,
      ports: [{ name: 'postgresql', port: 5432 }],
      env: [
        { name: 'POSTGRES_USER', value: 'asya' },
        { name: 'POSTGRES_DB', value: 'asya' },
        { name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: TRIAL_POSTGRES_NAME, key: 'password' } } },
        // A subdirectory: the volume's root holds lost+found on many storage classes, which initdb refuses.
        { name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' },
      ],
      dataPath: '/var/lib/postgresql/data',
      scratch: [{ name: 'run', path: '/var/run/postgresql' }],
      probe: { exec: { command: ['pg_isready', '-U', 'asya', '-d', 'asya'] } },
      resources: { cpu: ['100m', '1'], memory: ['256Mi', '1Gi'] },
    });
  }
}
