/** NATS JetStream as a transport plugin: settings, platform settings, sidecar environment, KEDA trigger. */
import { z } from 'zod';
import { duration, fromEnv, int, settingsTable, string, toEnv } from '../../settings/index.ts';
import { TransportConfigError } from '../config-error.ts';
import { configBool, configInt, queuePolicySchema, secretKeyRef } from '../platform-values.ts';
import { secretEnv, type TransportPlugin } from '../plugin.ts';
import type { NatsTransportOptions } from './nats.ts';
import { CONSUMER_NAME } from './consumer-name.ts';

export const NATS_SETTINGS = settingsTable('nats', {
  url: string({ env: 'ASYA_NATS_URL', doc: 'server URL, or several separated by commas (a cluster)', default: 'nats://localhost:4222' }),
  username: string({ env: 'ASYA_NATS_USERNAME', doc: 'user for user/password authentication', fromFile: true }),
  password: string({ env: 'ASYA_NATS_PASSWORD', doc: 'its password', secret: true, fromFile: true }),
  token: string({ env: 'ASYA_NATS_TOKEN', doc: 'token authentication, instead of a user', secret: true, fromFile: true }),
  replicas: int({ env: 'ASYA_NATS_REPLICAS', doc: 'replicas of each stream the transport creates (3 on a cluster)', default: 1, min: 1, max: 5 }),
  ackWait: duration({ env: 'ASYA_NATS_ACK_WAIT', doc: 'how long the server waits for an ack before redelivering; in-progress acks renew it while a handler runs', default: '30s', minMs: 1000 }),
});

export const natsPlatformSchema = z.object({
  url: z.string().min(1).default('nats://nats:4222'),
  /** host:port of the server's HTTP monitoring, which KEDA reads; default: the first server's host, port 8222. */
  monitoringEndpoint: z.string().min(1).optional(),
  /** NATS account KEDA looks the stream up in; `$G` when the server has no accounts. */
  account: z.string().min(1).default('$G'),
  useHttps: configBool().default(false),
  usernameSecretRef: secretKeyRef.optional(),
  passwordSecretRef: secretKeyRef.optional(),
  tokenSecretRef: secretKeyRef.optional(),
  replicas: configInt().pipe(z.number().min(1).max(5)).optional(),
  queues: queuePolicySchema,
});
type Platform = z.output<typeof natsPlatformSchema>;

function monitoringEndpoint(n: Platform): string {
  if (n.monitoringEndpoint) return n.monitoringEndpoint;
  const first = n.url.split(',')[0]!.trim();
  return `${URL.canParse(first) ? new URL(first).hostname : first.replace(/:\d+$/, '')}:8222`;
}

export const natsPlugin = {
  label: 'NATS JetStream',
  settings: NATS_SETTINGS,
  platformSchema: natsPlatformSchema,
  optionsFromEnv(env, options = {}) {
    const s = fromEnv(NATS_SETTINGS, env, { ...options, error: (m) => new TransportConfigError(m) });
    const { username, password, token } = s;
    return {
      url: s.url,
      replicas: s.replicas,
      ackWaitMs: s.ackWait,
      ...(username !== undefined ? { username, password: password ?? '' } : {}),
      ...(token !== undefined ? { token } : {}),
    };
  },
  async connect(options, logger) {
    const { NatsTransport } = await import('./nats.ts');
    return NatsTransport.connect({ ...options, ...(logger ? { logger } : {}) });
  },
  sidecarEnv: (n) => [
    ...toEnv(NATS_SETTINGS, { url: n.url, replicas: n.replicas }),
    ...(n.usernameSecretRef ? [secretEnv('ASYA_NATS_USERNAME', n.usernameSecretRef)] : []),
    ...(n.passwordSecretRef ? [secretEnv('ASYA_NATS_PASSWORD', n.passwordSecretRef)] : []),
    ...(n.tokenSecretRef ? [secretEnv('ASYA_NATS_TOKEN', n.tokenSecretRef)] : []),
  ],
  // KEDA reads the consumer's lag over the monitoring endpoint (no credentials: it is the server's HTTP port).
  kedaTrigger: (queue, scaling, n) => ({
    type: 'nats-jetstream',
    metadata: {
      natsServerMonitoringEndpoint: monitoringEndpoint(n),
      account: n.account,
      stream: queue,
      consumer: CONSUMER_NAME,
      lagThreshold: String(scaling.queueLength),
      ...(scaling.activationQueueLength !== undefined ? { activationLagThreshold: String(scaling.activationQueueLength) } : {}),
      useHttps: String(n.useHttps),
    },
  }),
} satisfies TransportPlugin<Platform, NatsTransportOptions>;
