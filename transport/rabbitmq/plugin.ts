/** RabbitMQ as a transport plugin: settings, platform settings, sidecar environment, KEDA trigger. */
import { z } from 'zod';
import { fromEnv, int, settingsTable, string, toEnv } from '../../settings/index.ts';
import { TransportConfigError } from '../config-error.ts';
import { configInt, queuePolicySchema, secretKeyRef } from '../platform-values.ts';
import { literalEnv, secretEnv, secretTarget, type KedaTrigger, type PodEnvVar, type TransportPlugin } from '../plugin.ts';
import type { RabbitMqTransportOptions } from './rabbitmq.ts';

export const RABBITMQ_USERNAME_ENV = 'ASYA_RABBITMQ_USERNAME';
export const RABBITMQ_PASSWORD_ENV = 'ASYA_RABBITMQ_PASSWORD';

export const RABBITMQ_SETTINGS = settingsTable('rabbitmq', {
  url: string({ env: 'ASYA_RABBITMQ_URL', doc: '`amqp://user:pass@host:port/vhost`; replaces the next five', defaultDoc: 'built from the next five' }),
  host: string({ env: 'ASYA_RABBITMQ_HOST', doc: 'broker host', default: 'localhost' }),
  port: int({ env: 'ASYA_RABBITMQ_PORT', doc: 'broker port', default: 5672, min: 1, max: 65535, strictness: 'lenient' }),
  username: string({ env: RABBITMQ_USERNAME_ENV, doc: 'broker user (`spec.security.brokerCredentials: files` mounts it as a file)', default: 'guest', fromFile: true }),
  password: string({ env: RABBITMQ_PASSWORD_ENV, doc: 'broker password', default: 'guest', secret: true, fromFile: true }),
  vhost: string({ env: 'ASYA_RABBITMQ_VHOST', doc: 'virtual host', defaultDoc: '`/`' }),
  exchange: string({ env: 'ASYA_RABBITMQ_EXCHANGE', doc: 'durable topic exchange; each queue `asya-<actor>` is bound with the routing key `<actor>`', default: 'asya' }),
}, [
  { env: 'ASYA_RABBITMQ_PREFETCH', action: 'warn', reason: 'the prefetch is the sidecar\'s `ASYA_CONCURRENCY` plus one' },
  { env: 'ASYA_RABBITMQ_POOL_SIZE', action: 'warn', reason: 'the gateway publishes on one confirm channel' },
]);

export const rabbitmqPlatformSchema = z.object({
  host: z.string().min(1).default('rabbitmq'),
  port: configInt().pipe(z.number().min(1).max(65535)).default(5672),
  username: z.string().min(1).default('guest'),
  /** Without it the sidecar and KEDA use RabbitMQ's default password (guest): fine for a trial broker only. */
  passwordSecretRef: secretKeyRef.optional(),
  usernameSecretRef: secretKeyRef.optional(),
  vhost: z.string().default('/'),
  exchange: z.string().min(1).optional(),
  /** HTTP management API (e.g. http://rabbitmq:15672). Lets KEDA count unacknowledged messages too. */
  managementUrl: z.url().optional(),
  queues: queuePolicySchema,
});
type Platform = z.output<typeof rabbitmqPlatformSchema>;

// amqplib reads the vhost from the URL path; an empty path is the default vhost "/".
const vhostPath = (vhost: string | undefined) => (vhost && vhost !== '/' ? encodeURIComponent(vhost) : '');

function sidecarEnv(r: Platform): PodEnvVar[] {
  return [
    ...toEnv(RABBITMQ_SETTINGS, { host: r.host, port: r.port }),
    r.usernameSecretRef ? secretEnv(RABBITMQ_USERNAME_ENV, r.usernameSecretRef) : literalEnv(RABBITMQ_USERNAME_ENV, r.username),
    ...(r.passwordSecretRef ? [secretEnv(RABBITMQ_PASSWORD_ENV, r.passwordSecretRef)] : []),
    ...toEnv(RABBITMQ_SETTINGS, { vhost: r.vhost !== '/' ? r.vhost : undefined, exchange: r.exchange }),
  ];
}

function kedaTrigger(queue: string, scaling: Parameters<TransportPlugin['kedaTrigger']>[1], r: Platform): KedaTrigger {
  const vhost = encodeURIComponent(r.vhost);
  // Management API mode sees unacknowledged messages; AMQP mode only sees the ready ones.
  const http = r.managementUrl !== undefined;
  const base = http ? r.managementUrl!.replace(/\/+$/, '') : `amqp://${r.host}:${r.port}`;
  const withSecret = r.passwordSecretRef !== undefined;
  // Without a password secret the broker uses its default credentials, so they may sit in the URL.
  const host = withSecret ? `${base}/${vhost}` : `${base.replace('://', `://${encodeURIComponent(r.username)}:guest@`)}/${vhost}`;
  const metadata: Record<string, string> = {
    protocol: http ? 'http' : 'amqp',
    host,
    queueName: queue,
    mode: 'QueueLength',
    value: String(scaling.queueLength),
    ...(scaling.activationQueueLength !== undefined ? { activationValue: String(scaling.activationQueueLength) } : {}),
    ...(http ? { excludeUnacknowledged: String(!scaling.countInFlight) } : {}),
    // The sidecar's own env carries the username whether literal or from a secret; KEDA reads it there.
    ...(withSecret && !r.usernameSecretRef ? { usernameFromEnv: RABBITMQ_USERNAME_ENV } : {}),
  };
  if (!withSecret) return { type: 'rabbitmq', metadata };
  const secretTargetRef = [...(r.usernameSecretRef ? [secretTarget('username', r.usernameSecretRef)] : []), secretTarget('password', r.passwordSecretRef!)];
  return { type: 'rabbitmq', metadata, auth: { secretTargetRef } };
}

export const rabbitmqPlugin = {
  label: 'RabbitMQ',
  settings: RABBITMQ_SETTINGS,
  platformSchema: rabbitmqPlatformSchema,
  optionsFromEnv(env, options = {}) {
    const s = fromEnv(RABBITMQ_SETTINGS, env, { ...options, error: (m) => new TransportConfigError(m) });
    const url =
      s.url ??
      `amqp://${encodeURIComponent(s.username)}:${encodeURIComponent(s.password)}@` +
        `${s.host}:${s.port}/${vhostPath(s.vhost)}`;
    return { url, exchange: s.exchange };
  },
  async connect(options, logger) {
    const { RabbitMqTransport } = await import('./rabbitmq.ts');
    return RabbitMqTransport.connect({ ...options, ...(logger ? { logger } : {}) });
  },
  sidecarEnv,
  kedaTrigger,
  kedaWarning: (scaling, r) =>
    scaling.countInFlight && !r.managementUrl
      ? 'transports.rabbitmq.managementUrl is not set: KEDA counts only ready messages, so busy replicas can be scaled down; set it to count unacknowledged ones too'
      : undefined,
} satisfies TransportPlugin<Platform, RabbitMqTransportOptions>;
