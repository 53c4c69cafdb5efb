/**
 * `processingMessages` for RabbitMQ actors. Over AMQP a queue reports only its ready messages: what other
 * connections hold unacknowledged (the sidecars' work in progress) is invisible to the controller. The
 * management API counts both across the cluster, so with `transports.rabbitmq.managementUrl` set the
 * controller reads `messages_ready` and `messages_unacknowledged` from there (with the credentials and vhost
 * of its own AMQP settings). The broker refreshes these statistics every few seconds
 * (`collect_statistics_interval`, 5 s by default), so they lag by that much. When the management API cannot
 * be reached the AMQP counts are used and a warning is logged.
 */
import { transportOf, type AsyncActor } from '../api/index.ts';
import type { Logger } from '../protocol/index.ts';
import { queueName } from '../protocol/index.ts';
import { fromEnv } from '../settings/index.ts';
import { TRANSPORT_SETTINGS, type TransportEnv } from '../transport/factory.ts';
import { rabbitmqPlugin } from '../transport/rabbitmq/plugin.ts';
import type { QueueDepth } from '../transport/transport.ts';
import type { QueueAdmin } from './queues.ts';
import { errorText } from '../protocol/errors.ts';

export interface ManagementApi {
  /** e.g. http://rabbitmq:15672 */
  url: string;
  username: string;
  password: string;
  vhost: string;
  /** ASYA_QUEUE_PREFIX: the physical queue name is prefix + asya-<actor>. */
  prefix: string;
}

/** The management API's address from the platform settings, everything else from the controller's ASYA_RABBITMQ_* settings. */
export function managementApi(url: string, env: TransportEnv): ManagementApi {
  const amqp = new URL(rabbitmqPlugin.optionsFromEnv(env).url);
  return {
    url: url.replace(/\/+$/, ''),
    username: decodeURIComponent(amqp.username || 'guest'),
    password: decodeURIComponent(amqp.password || 'guest'),
    vhost: decodeURIComponent(amqp.pathname.slice(1)) || '/',
    prefix: fromEnv(TRANSPORT_SETTINGS, env).queuePrefix,
  };
}

export async function managementDepth(api: ManagementApi, queue: string): Promise<QueueDepth> {
  const path = `${api.url}/api/queues/${encodeURIComponent(api.vhost)}/${encodeURIComponent(api.prefix + queue)}`;
  const res = await fetch(path, {
    headers: { authorization: `Basic ${Buffer.from(`${api.username}:${api.password}`).toString('base64')}` },
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
  const body = (await res.json()) as { messages_ready?: number; messages_unacknowledged?: number };
  return { ready: body.messages_ready ?? 0, inFlight: body.messages_unacknowledged ?? 0, delayed: 0 };
}

/** `admin`, with RabbitMQ actors' depth read from the management API. */
export function withManagementDepth(admin: QueueAdmin, api: ManagementApi, log: Logger): QueueAdmin {
  let warned = false;
  return {
    ...admin,
    async depth(actor: AsyncActor) {
      if (transportOf(actor) !== 'rabbitmq') return admin.depth(actor);
      try {
        const depth = await managementDepth(api, queueName(actor.metadata.name));
        warned = false;
        return depth;
      } catch (err) {
        if (!warned) log.warn(`RabbitMQ management API: ${errorText(err)}; counting over AMQP (no unacknowledged messages) until it answers`);
        warned = true;
        return admin.depth(actor);
      }
    },
  };
}
