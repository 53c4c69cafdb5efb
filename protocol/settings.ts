/**
 * Settings several components read with the same meaning, declared once; each component's table
 * (sidecar/settings.ts, gateway/settings.ts, …) includes them, sometimes with its own doc line.
 */
import { duration, hostPort, int, literalBool, oneOf, readSettings, settingsTable, string, url } from '../settings/index.ts';
import { DLQ_QUEUE } from './crew.ts';
import { DEFAULT_RUNTIME_TIMEOUT } from './duration.ts';
import { DEFAULT_MAX_FRAME_BYTES } from './framing.ts';
import { LOG_FORMATS, type LogFormat, type LogLevel } from './log.ts';
import { ERROR_END, HAPPY_END, QUEUE_MAX_DELIVERIES, type EndActors } from './queues.ts';

const LEVELS: readonly LogLevel[] = ['DEBUG', 'INFO', 'WARNING', 'ERROR'];

/** Lenient like the original's getattr(logging, level, INFO), but an unknown level is now reported. */
export const LOG_LEVEL = oneOf(LEVELS, {
  env: 'ASYA_LOG_LEVEL',
  doc: '`DEBUG`, `INFO`, `WARNING` (or `WARN`), `ERROR`. Payloads are logged only at `DEBUG`',
  default: 'INFO',
  caseInsensitive: true,
  synonyms: { WARN: 'WARNING' },
  strictness: 'lenient',
});

/**
 * The level for a logger made before the component has read its table (to report that reading's failure):
 * the same reading, without the warning, which the table's reader gives.
 */
export function logLevelFromEnv(env: Record<string, string | undefined>): LogLevel {
  return readSettings(LOG_LEVEL_ONLY, env).values.logLevel;
}

const LOG_LEVEL_ONLY = settingsTable('log-level', { logLevel: LOG_LEVEL });

export const LOG_FORMAT = oneOf(LOG_FORMATS, {
  env: 'ASYA_LOG_FORMAT',
  doc: '`text`: one readable line per event. `json`: one JSON object per line (time, level, component, actor, message, envelope_id, trace_id, span_id; [operations.md](operations.md#logs)). Case-insensitive; anything else stops startup. In a cluster the platform setting `logFormat` sets it on every component',
  default: 'text',
  caseInsensitive: true,
});

/**
 * The format for a logger made before the component has read its table: a value the table will refuse
 * reads as `text` here, so the refusal itself can be logged.
 */
export function logFormatFromEnv(env: Record<string, string | undefined>): LogFormat {
  return readSettings(LOG_FORMAT_ONLY, env).values.logFormat ?? 'text';
}

/** ASYA_LOG_FORMAT alone: what a platform writes into every component it deploys (krm-functions/platform-config.ts). */
export const LOG_FORMAT_ONLY = settingsTable('log-format', { logFormat: LOG_FORMAT });

export const SOCKET_DIR = string({
  env: 'ASYA_SOCKET_DIR',
  doc: "directory of the socket and the `runtime-ready` file; created if missing. Must be the sidecar's too",
  default: '/var/run/asya',
});

export const MAX_FRAME_BYTES = int({
  env: 'ASYA_MAX_FRAME_BYTES',
  doc: 'a larger request is refused with `msg_parsing_error` (`FrameTooLarge`) before it is read',
  default: DEFAULT_MAX_FRAME_BYTES,
  defaultDoc: '`67108864` (64 MiB)',
  min: 1,
});

export const RUNTIME_TIMEOUT = duration({
  env: 'ASYA_RUNTIME_TIMEOUT',
  doc: 'longest time one runtime call may take (`spec.timeout.processing`). Past it: the message goes to error-end with code `timeout` and the runtime is restarted. An envelope\'s `deadline`, when sooner, wins',
  default: DEFAULT_RUNTIME_TIMEOUT,
});

export const GATEWAY_URL = url({
  env: 'ASYA_GATEWAY_URL',
  doc: 'the gateway; enables progress reports, fan-out registration and (end actors) final statuses. Unset: the pipeline runs without them',
});

export const GATEWAY_TOKEN = string({
  env: 'ASYA_GATEWAY_TOKEN',
  doc: "bearer token for the gateway's internal endpoints (the gateway's own `ASYA_GATEWAY_TOKEN`)",
  secret: true,
});

// The original's docs named these ASYA_STEP_*, its code ASYA_ACTOR_*; both are read.
export const HAPPY_END_ACTOR = string({ env: 'ASYA_ACTOR_HAPPY_END', doc: 'name of the end actor for finished envelopes', default: HAPPY_END, aliases: ['ASYA_STEP_HAPPY_END'] });
export const ERROR_END_ACTOR = string({ env: 'ASYA_ACTOR_ERROR_END', doc: 'name of the end actor for failures', default: ERROR_END, aliases: ['ASYA_STEP_ERROR_END'] });

/** The end actors' names as every component reads them (a bad value is the sidecar's to report). */
export function endActorsFromEnv(env: Record<string, string | undefined>): EndActors {
  return readSettings(END_ACTORS, env).values;
}

const END_ACTORS = settingsTable('end-actors', { happyEnd: HAPPY_END_ACTOR, errorEnd: ERROR_END_ACTOR });

export const DLQ_QUEUE_NAME = string({ env: 'ASYA_DLQ_QUEUE', doc: 'where error-end puts dead letters', default: DLQ_QUEUE });

/** The sidecar prefixes its metric names with this; the gateway's console reads them from Prometheus by it. */
export const METRICS_NAMESPACE = string({ env: 'ASYA_METRICS_NAMESPACE', doc: 'prefix of the metric names', default: 'asya_actor' });

export const METRICS_ADDR = hostPort({ env: 'ASYA_METRICS_ADDR', doc: '`[host]:port` of that server', default: { port: 8080 }, defaultDoc: '`:8080`' });

/** Read by the runtimes, and checked by the crew's handlers, which need whole envelopes unvalidated. */
export const HANDLER_MODE = oneOf(['payload', 'envelope'], {
  env: 'ASYA_HANDLER_MODE',
  doc: '`payload`: the handler gets and returns payloads. `envelope`: it gets and returns whole envelopes ([handlers.md](handlers.md#envelope-mode)). Case-insensitive; anything else stops startup',
  default: 'payload',
  caseInsensitive: true,
  messages: { invalid: (raw) => `Invalid ASYA_HANDLER_MODE=${raw.toLowerCase()}: not in ('payload', 'envelope')` },
});

export const ENABLE_VALIDATION = literalBool({
  env: 'ASYA_ENABLE_VALIDATION',
  doc: "check every input envelope and, in envelope mode, every output against the input's route. Only the literal `true` (any case) enables it. The crew's handlers need `false`",
  default: true,
  literal: 'true',
});

/** The queue policy's variables (protocol/queue-policy.ts): inject-sidecar writes them, the sidecar, crew and `asya dev` read them. */
export const QUEUE_AUTO_CREATE = literalBool({
  env: 'ASYA_QUEUE_AUTO_CREATE',
  doc: "declare the actor's own queue at startup (the platform's `transports.<t>.queues.autoCreate`). Only the literal `false` turns it off",
  default: true,
  literal: 'false',
});
export const QUEUE_MAX_DELIVERIES_SETTING = int({
  env: 'ASYA_QUEUE_MAX_DELIVERIES',
  doc: "deliveries of one message before the broker dead-letters it (`transports.<t>.queues.dlq.maxDeliveries`); `0`: no dead-letter queue",
  default: QUEUE_MAX_DELIVERIES,
  min: 0,
});
export const QUEUE_DLQ_RETENTION_DAYS = int({
  env: 'ASYA_QUEUE_DLQ_RETENTION_DAYS',
  doc: 'days dead letters are kept (`transports.<t>.queues.dlq.retentionDays`)',
  defaultDoc: "the broker's default",
  min: 1,
});
export const QUEUE_POLICY_SETTINGS = settingsTable('queue-policy', {
  autoCreate: QUEUE_AUTO_CREATE,
  maxDeliveries: QUEUE_MAX_DELIVERIES_SETTING,
  dlqRetentionDays: QUEUE_DLQ_RETENTION_DAYS,
});

/**
 * The claim check (docs/payloads.md): the payload store every component that reads or writes payloads shares.
 * Credentials come from the AWS SDK's own chain (AWS_ACCESS_KEY_ID, a web identity, an instance role).
 */
export const PAYLOAD_STORE = string({
  env: 'ASYA_PAYLOAD_STORE',
  doc: 'where payloads over the offload threshold go: `s3://bucket/prefix` or a directory (`/shared/payloads`, `file:///…`) that every component mounts. Unset: payloads travel inline, and one too large for the broker is refused',
});
export const PAYLOAD_OFFLOAD_BYTES = int({
  env: 'ASYA_PAYLOAD_OFFLOAD_BYTES',
  doc: "a payload whose JSON is larger goes to the payload store and the envelope carries a reference. The default keeps every message under the broker's limit",
  defaultDoc: 'per transport: SQS `196608` (192 KiB of SQS\'s 256 KiB), NATS `786432`, RabbitMQ `1048576`',
  min: 1,
});
export const PAYLOAD_S3_ENDPOINT = url({ env: 'ASYA_PAYLOAD_S3_ENDPOINT', doc: "an S3 store's endpoint for MinIO, moto, LocalStack (path-style addressing)", defaultDoc: 'AWS' });
export const PAYLOAD_S3_REGION = string({ env: 'ASYA_PAYLOAD_S3_REGION', doc: "an S3 store's region", default: 'us-east-1' });

/** The store's settings as one table, for components that include them all. */
export const PAYLOAD_STORE_SETTINGS = {
  payloadStore: PAYLOAD_STORE,
  payloadOffloadBytes: PAYLOAD_OFFLOAD_BYTES,
  payloadS3Endpoint: PAYLOAD_S3_ENDPOINT,
  payloadS3Region: PAYLOAD_S3_REGION,
} as const;

/** Shared by both runtimes and by whatever spawns them (protocol/parent-pipe.ts). */
export const PARENT_PIPE_FD_SETTING = int({
  env: 'ASYA_PARENT_PIPE_FD',
  doc: "set by `asya dev` only: a file descriptor inherited from the parent; when it reaches end of file (the parent exited, even by SIGKILL) the runtime exits at once. Unset: the runtime does not watch its parent",
  min: 0,
});
