/**
 * The original operator's Helm values (deploy/helm-charts/asya-operator, reference §2.1, §2.2, §2.10) as
 * our platform settings (an AsyaPlatform resource, krm-functions/platform-config.ts). Every key the
 * original chart has is either mapped or reported with what to do instead; a key the chart does not have
 * is reported as unknown. The original template read `transports` and `gatewayURL` at the top level while
 * its values.yaml nested them under `operator:`; both places are read.
 */
import { DEFAULT_QUEUE_POLICY } from '../../protocol/queue-policy.ts';
import { isPlainObject } from '../../protocol/json.ts';
import { FN_API_VERSION, readPlatformConfig } from '../../krm-functions/platform-config.ts';

export interface Unmapped {
  key: string;
  reason: string;
  /** Mapped, but it behaves differently here: a note rather than a key left out. */
  note?: true;
}

export interface Conversion {
  platform: { apiVersion: string; kind: 'AsyaPlatform'; metadata: { name: string }; spec: Record<string, unknown> };
  unmapped: Unmapped[];
}

type Obj = Record<string, unknown>;

/** Operator values with no place in the platform settings, and where their job went. */
const NOT_PLATFORM: Record<string, string> = {
  image: 'the controller runs from the asya image: asya synth --image',
  imagePullSecrets: 'add them to the controller Deployment asya synth writes',
  replicaCount: 'asya synth runs 2 controller replicas with leader election',
  nameOverride: 'the controller is named asya-controller',
  fullnameOverride: 'the controller is named asya-controller',
  leaderElection: 'always on (a Lease in the controller namespace); ASYA_LEADER_ELECTION=false turns it off',
  health: 'one listener serves /metrics, /healthz and /readyz: ASYA_METRICS_ADDR (default :8080)',
  metrics: 'one listener serves /metrics, /healthz and /readyz: ASYA_METRICS_ADDR (default :8080)',
  logLevel: 'the controller env ASYA_LOG_LEVEL',
  maxConcurrentReconciles: 'the controller env ASYA_MAX_CONCURRENT_RECONCILES (default 10)',
  queueHealthCheckInterval: 'every resync (ASYA_RESYNC_INTERVAL, default 60s) declares each queue again, recreating deleted ones',
  disableQueueManagement: 'the controller env ASYA_DISABLE_QUEUE_MANAGEMENT (kept)',
  runtime: 'unused by the original; the runtime script comes from the asya image',
  resources: 'the controller Deployment asya synth writes has its own requests and limits',
  securityContext: 'the controller runs under the restricted Pod Security Standard (asya synth)',
  podSecurityContext: 'the controller runs under the restricted Pod Security Standard (asya synth)',
  serviceAccount: 'asya synth writes ServiceAccount asya-controller with least-privilege RBAC',
  rbac: 'asya synth writes least-privilege RBAC (docs/platform.md#security)',
  podAnnotations: 'add them to the controller Deployment asya synth writes',
  podLabels: 'add them to the controller Deployment asya synth writes',
  nodeSelector: 'add it to the controller Deployment asya synth writes',
  tolerations: 'add them to the controller Deployment asya synth writes',
  affinity: 'add it to the controller Deployment asya synth writes',
  crds: 'the CRD is asya crd (or 00-asya-crd.k8s.yaml from asya synth)',
};

const TRANSPORT_KEYS = {
  rabbitmq: ['host', 'port', 'username', 'passwordSecretRef', 'exchange', 'queues'],
  sqs: ['region', 'actorRoleArn', 'accountId', 'endpoint', 'visibilityTimeout', 'waitTimeSeconds', 'credentials', 'queues', 'tags'],
} as const;

const secretRef = (v: unknown) => (isPlainObject(v) && typeof v.name === 'string' && typeof v.key === 'string' ? { name: v.name, key: v.key } : undefined);

/** The original's queue settings: absent means auto-create and no DLQ; present, unset switches are false. */
function queuePolicy(queues: unknown, type: 'rabbitmq' | 'sqs', at: string, unmapped: Unmapped[]) {
  if (queues === undefined) return { autoCreate: true, dlq: { enabled: false } };
  const q = isPlainObject(queues) ? queues : {};
  for (const key of Object.keys(q)) {
    if (key === 'forceRecreate') unmapped.push({ key: `${at}.queues.forceRecreate`, reason: 'never read by the original; a queue with other arguments is used as it is (docs/transports.md#queue-policy)' });
    else if (key !== 'autoCreate' && key !== 'dlq') unmapped.push({ key: `${at}.queues.${key}`, reason: 'not a key of the original chart' });
  }
  const dlq = isPlainObject(q.dlq) ? q.dlq : {};
  const enabled = dlq.enabled === true;
  const maxRetryCount = typeof dlq.maxRetryCount === 'number' && dlq.maxRetryCount > 0 ? dlq.maxRetryCount : 3;
  const retentionDays = typeof dlq.retentionDays === 'number' && dlq.retentionDays > 0 ? dlq.retentionDays : type === 'sqs' ? 14 : undefined;
  if (type === 'rabbitmq' && enabled && dlq.maxRetryCount !== undefined) {
    unmapped.push({ key: `${at}.queues.dlq.maxRetryCount`, reason: `the original ignored it on RabbitMQ (no delivery limit); mapped to dlq.maxDeliveries ${maxRetryCount}, which is enforced here`, note: true });
  }
  return {
    autoCreate: q.autoCreate === true,
    dlq: enabled ? { enabled, maxDeliveries: maxRetryCount, ...(retentionDays !== undefined ? { retentionDays } : {}) } : { enabled: false },
  };
}

function transport(type: 'rabbitmq' | 'sqs', config: Obj, at: string, unmapped: Unmapped[]): Obj {
  const out: Obj = {};
  for (const [key, value] of Object.entries(config)) {
    if (!(TRANSPORT_KEYS[type] as readonly string[]).includes(key)) unmapped.push({ key: `${at}.${key}`, reason: `not a ${type} setting of the original` });
    else if (key === 'passwordSecretRef') {
      const ref = secretRef(value);
      if (ref) out.passwordSecretRef = ref;
      else unmapped.push({ key: `${at}.${key}`, reason: 'needs name and key' });
    } else if (key === 'credentials' && isPlainObject(value)) {
      const access = secretRef(value.accessKeyIdSecretRef);
      const secret = secretRef(value.secretAccessKeySecretRef);
      if (access && secret) out.credentials = { accessKeyIdSecretRef: access, secretAccessKeySecretRef: secret };
      else unmapped.push({ key: `${at}.credentials`, reason: 'needs accessKeyIdSecretRef and secretAccessKeySecretRef, each with name and key' });
    } else if (key !== 'queues') out[key] = value;
  }
  out.queues = queuePolicy(config.queues, type, at, unmapped);
  // With the defaults of this side, the original's behaviour: no DLQ unless it was switched on.
  if (JSON.stringify(out.queues) === JSON.stringify({ autoCreate: DEFAULT_QUEUE_POLICY.autoCreate, dlq: { enabled: false } })) out.queues = { dlq: { enabled: false } };
  return out;
}

export function convertOperatorValues(values: unknown): Conversion {
  const unmapped: Unmapped[] = [];
  const root: Obj = isPlainObject(values) ? values : {};
  const nested: Obj = isPlainObject(root.operator) ? root.operator : {};
  const spec: Obj = {};
  const transports: Obj = {};

  const gatewayUrl = root.gatewayURL ?? nested.gatewayURL;
  if (typeof gatewayUrl === 'string' && gatewayUrl) spec.gatewayUrl = gatewayUrl;

  const registry = (root.transports ?? nested.transports) as unknown;
  const at = root.transports !== undefined ? 'transports' : 'operator.transports';
  for (const [name, entry] of Object.entries(isPlainObject(registry) ? registry : {})) {
    const e: Obj = isPlainObject(entry) ? entry : {};
    const type = e.type;
    if (type !== 'rabbitmq' && type !== 'sqs') {
      unmapped.push({ key: `${at}.${name}`, reason: `type ${JSON.stringify(type)}: only rabbitmq and sqs exist` });
      continue;
    }
    if (e.enabled === false) {
      unmapped.push({ key: `${at}.${name}`, reason: 'disabled in the original; left out' });
      continue;
    }
    if (transports[type]) {
      unmapped.push({ key: `${at}.${name}`, reason: `a second ${type} transport: the platform settings have one per type (AsyncActors name the type)` });
      continue;
    }
    if (name !== type) unmapped.push({ key: `${at}.${name}`, reason: `AsyncActors must say transport: ${type} (the original resolved the name ${name})` });
    transports[type] = transport(type, isPlainObject(e.config) ? e.config : {}, `${at}.${name}.config`, unmapped);
  }
  if (Object.keys(transports).length) spec.transports = transports;

  const sidecar = (isPlainObject(root.sidecar) ? root.sidecar : {}) as Obj;
  const specSidecar: Obj = {};
  for (const [key, value] of Object.entries(sidecar)) {
    if (key === 'defaultResources' && isPlainObject(value)) specSidecar.resources = value;
    else if (key === 'imagePullPolicy') specSidecar.imagePullPolicy = value;
    else if (key === 'image') unmapped.push({ key: 'sidecar.image', reason: `${String(value)} is the original's Go sidecar; Asya's sidecar runs from the asya image (sidecar.image defaults to it)` });
    else unmapped.push({ key: `sidecar.${key}`, reason: 'not a key of the original chart' });
  }
  if (Object.keys(specSidecar).length) spec.sidecar = specSidecar;

  for (const [key, source] of [...Object.entries(root).map(([k]) => [k, root] as const), ...Object.entries(nested).map(([k]) => [`operator.${k}`, nested] as const)]) {
    const bare = key.replace(/^operator\./, '');
    if (['transports', 'gatewayURL', 'sidecar', 'operator'].includes(bare) && (bare !== 'sidecar' || source === root)) continue;
    unmapped.push({ key, reason: NOT_PLATFORM[bare] ?? 'not a key of the original operator chart' });
  }

  const platform = { apiVersion: FN_API_VERSION, kind: 'AsyaPlatform' as const, metadata: { name: 'platform' }, spec };
  const check = readPlatformConfig(platform);
  if (!check.ok) throw new Error(`the converted settings are invalid: ${check.results.map((r) => r.message).join('; ')}`);
  return { platform, unmapped };
}
