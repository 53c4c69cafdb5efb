/**
 * Builds a Transport from the original's environment variables (reference §3.1), so a sidecar or gateway
 * deployment switches implementations without renaming anything. As in the original, an empty variable
 * counts as unset and an unparsable number falls back to its default.
 */
import { readFileSync } from 'node:fs';
import type { TransportLogger } from './log.ts';
import { MemoryTransport } from './memory.ts';
import type { RabbitMqTransportOptions } from './rabbitmq/rabbitmq.ts';
import type { SqsTransportOptions } from './sqs/sqs.ts';
import { withQueuePrefix } from './prefixed.ts';
import type { Transport } from './transport.ts';

export type TransportEnv = Record<string, string | undefined>;

export type TransportConfig =
  | { kind: 'memory' }
  | ({ kind: 'rabbitmq' } & RabbitMqTransportOptions)
  | ({ kind: 'sqs' } & SqsTransportOptions);

const KINDS = ['memory', 'rabbitmq', 'sqs'] as const;

export class TransportConfigError extends Error {
  override readonly name = 'TransportConfigError';
}

function read(env: TransportEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

/**
 * A credential from `<name>` or from the file named by `<name>_FILE` (a Secret mounted as files, so it is not
 * in the process environment). Both set is a mistake worth stopping on; an unreadable file too.
 */
function credential(env: TransportEnv, name: string): string | undefined {
  const path = read(env, `${name}_FILE`);
  if (path === undefined) return read(env, name);
  if (read(env, name) !== undefined) throw new TransportConfigError(`set ${name} or ${name}_FILE, not both`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new TransportConfigError(`${name}_FILE=${path} cannot be read: ${(err as Error).message}`);
  }
  const value = text.replace(/\r?\n$/, '');
  return value ? value : undefined;
}

function positiveInt(env: TransportEnv, name: string): number | undefined {
  const raw = read(env, name);
  if (raw === undefined || !/^\d+$/.test(raw)) return undefined;
  const n = Number(raw);
  return n > 0 ? n : undefined;
}

const vhostPath = (vhost: string | undefined) => (vhost && vhost !== '/' ? encodeURIComponent(vhost) : '');

export function transportConfigFromEnv(env: TransportEnv): TransportConfig {
  // The original's default; `asya dev` sets memory explicitly.
  const kind = (read(env, 'ASYA_TRANSPORT') ?? 'rabbitmq').toLowerCase();
  switch (kind) {
    case 'memory':
      return { kind };
    case 'rabbitmq': {
      const url =
        read(env, 'ASYA_RABBITMQ_URL') ??
        `amqp://${encodeURIComponent(credential(env, 'ASYA_RABBITMQ_USERNAME') ?? 'guest')}:` +
          `${encodeURIComponent(credential(env, 'ASYA_RABBITMQ_PASSWORD') ?? 'guest')}@` +
          `${read(env, 'ASYA_RABBITMQ_HOST') ?? 'localhost'}:${positiveInt(env, 'ASYA_RABBITMQ_PORT') ?? 5672}/` +
          // amqplib reads the vhost from the URL path; an empty path is the default vhost "/".
          vhostPath(read(env, 'ASYA_RABBITMQ_VHOST'));
      return { kind, url, exchange: read(env, 'ASYA_RABBITMQ_EXCHANGE') ?? 'asya' };
    }
    case 'sqs': {
      const endpoint = read(env, 'ASYA_SQS_ENDPOINT');
      const accessKeyId = credential(env, 'AWS_ACCESS_KEY_ID');
      const secretAccessKey = credential(env, 'AWS_SECRET_ACCESS_KEY');
      const sessionToken = read(env, 'AWS_SESSION_TOKEN');
      const visibility = positiveInt(env, 'ASYA_SQS_VISIBILITY_TIMEOUT');
      return {
        kind,
        region: read(env, 'ASYA_AWS_REGION') ?? 'us-east-1',
        // The original coerces 0 to 20 too: SQS short polling would spin an idle sidecar.
        waitTimeSeconds: Math.min(20, positiveInt(env, 'ASYA_SQS_WAIT_TIME_SECONDS') ?? 20),
        ...(endpoint ? { endpoint } : {}),
        ...(visibility !== undefined ? { visibilityTimeoutSeconds: visibility } : {}),
        // Passed through only when the caller's env has them; otherwise the SDK's default chain decides.
        ...(accessKeyId && secretAccessKey
          ? { credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } }
          : {}),
      };
    }
    default:
      throw new TransportConfigError(`ASYA_TRANSPORT must be one of ${KINDS.join(', ')}; got "${kind}"`);
  }
}

export interface CreateTransportExtras {
  logger?: TransportLogger;
  /** `asya dev` hosts gateway, sidecars and crew in one process; they must share one memory broker. */
  memory?: MemoryTransport;
}

const QUEUE_PREFIX = /^[a-z0-9-]*$/;

export async function createTransport(env: TransportEnv, extras: CreateTransportExtras = {}): Promise<Transport> {
  const prefix = read(env, 'ASYA_QUEUE_PREFIX') ?? '';
  // Unlike the lenient settings above, a wrong prefix would silently split producers and consumers.
  if (!QUEUE_PREFIX.test(prefix)) throw new TransportConfigError(`ASYA_QUEUE_PREFIX must use lowercase letters, digits and - only; got "${prefix}"`);
  return withQueuePrefix(await createUnprefixedTransport(env, extras), prefix);
}

async function createUnprefixedTransport(env: TransportEnv, extras: CreateTransportExtras): Promise<Transport> {
  const config = transportConfigFromEnv(env);
  const logger = extras.logger ? { logger: extras.logger } : {};
  switch (config.kind) {
    case 'memory':
      return extras.memory ?? new MemoryTransport(logger);
    // Loaded on demand: the AWS SDK alone costs a sidecar about 20 MB of RSS it does not need on RabbitMQ.
    case 'rabbitmq': {
      const { kind: _, ...options } = config;
      const { RabbitMqTransport } = await import('./rabbitmq/rabbitmq.ts');
      return RabbitMqTransport.connect({ ...options, ...logger });
    }
    case 'sqs': {
      const { kind: _, ...options } = config;
      const { SqsTransport } = await import('./sqs/sqs.ts');
      return new SqsTransport({ ...options, ...logger });
    }
  }
}
