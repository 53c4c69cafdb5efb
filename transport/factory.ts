/**
 * Builds a Transport from the original's environment variables (docs/configuration.md, "Transport"), so a sidecar or gateway
 * deployment switches implementations without renaming anything. As in the original, an empty variable
 * counts as unset and an unparsable number falls back to its default.
 */
import { oneOf, fromEnv, settingsTable, string } from '../settings/index.ts';
import { TransportConfigError } from './config-error.ts';
import type { TransportLogger } from './log.ts';
import { MemoryTransport } from './memory.ts';
import { withQueuePrefix } from './prefixed.ts';
import { TRANSPORT_NAMES, TRANSPORT_PLUGINS, type TransportName } from './registry.ts';
import type { Transport } from './transport.ts';

export { TransportConfigError };
export type TransportEnv = Record<string, string | undefined>;

/** `memory` lives in one process only (`asya dev`, tests); the others are the registry's brokers. */
export const TRANSPORT_KINDS = ['memory', ...TRANSPORT_NAMES] as const;
export type TransportKind = (typeof TRANSPORT_KINDS)[number];

export type TransportConfig = { kind: 'memory' } | { kind: TransportName; options: unknown };

export const TRANSPORT_SETTINGS = settingsTable('transport', {
  transport: oneOf(TRANSPORT_KINDS, {
    env: 'ASYA_TRANSPORT',
    doc: `${TRANSPORT_KINDS.map((k) => `\`${k}\``).join(', ')}; \`memory\` is one process only (\`asya dev\` and tests). The original gateway chose SQS whenever \`ASYA_RABBITMQ_URL\` was empty; here every component follows this variable`,
    // The original's default; `asya dev` sets memory explicitly.
    default: 'rabbitmq',
    caseInsensitive: true,
    messages: { invalid: (raw) => `ASYA_TRANSPORT must be one of ${TRANSPORT_KINDS.join(', ')}; got "${raw.toLowerCase()}"` },
  }),
  // Unlike the lenient broker settings, a wrong prefix would silently split producers and consumers.
  queuePrefix: string({
    env: 'ASYA_QUEUE_PREFIX',
    doc: 'prepended to every queue name on the broker (`team-a-` makes `team-a-asya-clean`), so teams or environments can share one vhost, account or server. Lowercase letters, digits and `-`; anything else stops the process. Every participant must use the same prefix',
    defaultDoc: '–',
    default: '',
  }),
}, [
  { env: 'ASYA_QUEUE_RETRY_MAX_ATTEMPTS', action: 'warn', reason: 'queue calls are not retried by count: a lost broker is reconnected to with backoff for as long as it takes, and a publish to a missing queue goes to error-end as `queue_not_found` at once' },
  { env: 'ASYA_QUEUE_RETRY_BACKOFF', action: 'warn', reason: 'reconnects and receives back off by themselves (doubling, with jitter)' },
  { env: 'ASYA_QUEUE_BASE_URL', action: 'warn', reason: 'documented, never read; queues are addressed by name' },
]);

const QUEUE_PREFIX = /^[a-z0-9-]*$/;

function readTransportSettings(env: TransportEnv, warn?: (message: string) => void) {
  return fromEnv(TRANSPORT_SETTINGS, env, { ...(warn ? { warn } : {}), error: (m) => new TransportConfigError(m) });
}

/**
 * Builds a transport's options from the original's environment variables (docs/configuration.md, "Transport"), so a sidecar or
 * gateway deployment switches implementations without renaming anything. Each broker's settings are declared
 * in its plugin (transport/<broker>/plugin.ts); an empty variable counts as unset.
 */
export function transportConfigFromEnv(env: TransportEnv, warn?: (message: string) => void): TransportConfig {
  const { transport: kind } = readTransportSettings(env, warn);
  if (kind === 'memory') return { kind };
  return { kind, options: TRANSPORT_PLUGINS[kind].optionsFromEnv(env, warn ? { warn } : {}) };
}

export interface CreateTransportExtras {
  logger?: TransportLogger;
  /** `asya dev` hosts gateway, sidecars and crew in one process; they must share one memory broker. */
  memory?: MemoryTransport;
}

export async function createTransport(env: TransportEnv, extras: CreateTransportExtras = {}): Promise<Transport> {
  const warn = extras.logger ? (message: string) => extras.logger!.warn(message) : undefined;
  const prefix = readTransportSettings(env, warn).queuePrefix;
  if (!QUEUE_PREFIX.test(prefix)) throw new TransportConfigError(`ASYA_QUEUE_PREFIX must use lowercase letters, digits and - only; got "${prefix}"`);
  const config = transportConfigFromEnv(env, warn);
  // Loaded on demand by each plugin: the AWS SDK alone costs a sidecar about 20 MB of RSS it does not need on RabbitMQ.
  const transport = config.kind === 'memory' ? (extras.memory ?? new MemoryTransport(extras.logger ? { logger: extras.logger } : {})) : await TRANSPORT_PLUGINS[config.kind].connect(config.options, extras.logger);
  return withQueuePrefix(transport, prefix);
}
