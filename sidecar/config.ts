/** Sidecar settings from the original's env vars (docs/configuration.md, "Sidecar"), plus ASYA_CONCURRENCY and friends. */
import { join } from 'node:path';
import { retrySchema, type RetryPolicy } from '../api/asyncactor.ts';
import { DEFAULT_MAX_FRAME_BYTES, DEFAULT_RUNTIME_TIMEOUT, DLQ_QUEUE, endActorsFromEnv, isValidActorName, parseDuration, parseLogLevel, READY_FILE, RESTART_MARKER, SOCKET_NAME, type LogLevel } from '../protocol/index.ts';

export interface SidecarConfig {
  actorName: string;
  happyEnd: string;
  errorEnd: string;
  isEndActor: boolean;
  socketDir: string;
  socketPath: string;
  readyFile: string;
  /** Written when a hung runtime must be restarted; the runtime container's liveness probe fails on it. */
  restartMarker: string;
  runtimeTimeoutMs: number;
  runtimeReadyTimeoutMs: number;
  concurrency: number;
  maxFrameBytes: number;
  gatewayUrl?: string;
  gatewayToken?: string;
  metricsEnabled: boolean;
  metricsAddr: { host?: string; port: number };
  metricsNamespace: string;
  customMetrics: CustomMetric[];
  logLevel: LogLevel;
  /** Failures of the runtime connection before a message is sent to error-end instead of requeued. */
  maxRuntimeRetries: number;
  /**
   * This actor's spec.retry (ASYA_RETRY_POLICY, JSON), attached to its error envelopes as the
   * `x-asya-retry-policy` header so error-end retries by the failing actor's rules. Unset: error-end's defaults.
   */
  retryPolicy?: RetryPolicy;
  /**
   * ASYA_EXIT_WHEN_IDLE: finish (drain and exit 0) once no message has arrived for this long and none is in
   * flight. For the Job workload kind, whose pods must end for the Job to complete. Unset: run until stopped.
   */
  exitWhenIdleMs?: number;
  /** ASYA_DLQ_QUEUE (default asya-dlq): the error-end sidecar creates it for the crew's dead letters. */
  dlqQueue: string;
}

export interface CustomMetric {
  name: string;
  type: 'counter' | 'gauge' | 'histogram';
  help: string;
  labels?: string[];
  buckets?: number[];
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

export function loadSidecarConfig(env: Env = process.env): SidecarConfig {
  const get = (key: string) => (env[key] === '' ? undefined : env[key]);
  const actorName = get('ASYA_ACTOR_NAME');
  if (!actorName) throw new ConfigError('ASYA_ACTOR_NAME is required: the actor whose queue (asya-<name>) this sidecar consumes');
  if (!isValidActorName(actorName)) {
    throw new ConfigError(`ASYA_ACTOR_NAME=${JSON.stringify(actorName)} is not a valid actor name (lowercase letters, digits and '-', at most 63)`);
  }
  const { happyEnd, errorEnd } = endActorsFromEnv(env);
  const socketDir = get('ASYA_SOCKET_DIR') ?? '/var/run/asya';
  const duration = (key: string, fallback: string) => {
    try {
      return parseDuration(get(key) ?? fallback, key);
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
  };
  return {
    actorName,
    happyEnd,
    errorEnd,
    isEndActor: parseBool(get('ASYA_IS_END_ACTOR'), actorName === happyEnd || actorName === errorEnd, 'ASYA_IS_END_ACTOR'),
    socketDir,
    socketPath: join(socketDir, SOCKET_NAME),
    readyFile: join(socketDir, READY_FILE),
    restartMarker: join(socketDir, RESTART_MARKER),
    runtimeTimeoutMs: duration('ASYA_RUNTIME_TIMEOUT', DEFAULT_RUNTIME_TIMEOUT),
    runtimeReadyTimeoutMs: duration('ASYA_RUNTIME_READY_TIMEOUT', '5m'),
    concurrency: parseInteger(get('ASYA_CONCURRENCY'), 1, 'ASYA_CONCURRENCY', 1),
    maxFrameBytes: parseInteger(get('ASYA_MAX_FRAME_BYTES'), DEFAULT_MAX_FRAME_BYTES, 'ASYA_MAX_FRAME_BYTES', 1),
    gatewayUrl: get('ASYA_GATEWAY_URL')?.replace(/\/+$/, ''),
    gatewayToken: get('ASYA_GATEWAY_TOKEN'),
    metricsEnabled: parseBool(get('ASYA_METRICS_ENABLED'), true, 'ASYA_METRICS_ENABLED'),
    metricsAddr: parseAddr(get('ASYA_METRICS_ADDR') ?? ':8080'),
    metricsNamespace: get('ASYA_METRICS_NAMESPACE') ?? 'asya_actor',
    customMetrics: parseCustomMetrics(get('ASYA_CUSTOM_METRICS')),
    logLevel: parseLogLevel(get('ASYA_LOG_LEVEL')),
    ...(get('ASYA_EXIT_WHEN_IDLE') !== undefined ? { exitWhenIdleMs: duration('ASYA_EXIT_WHEN_IDLE', '0') } : {}),
    dlqQueue: get('ASYA_DLQ_QUEUE') ?? DLQ_QUEUE,
    maxRuntimeRetries: parseInteger(get('ASYA_RUNTIME_MAX_RETRIES'), 3, 'ASYA_RUNTIME_MAX_RETRIES', 1),
    ...optionalRetryPolicy(get('ASYA_RETRY_POLICY')),
  };
}

function optionalRetryPolicy(raw: string | undefined): { retryPolicy?: RetryPolicy } {
  if (raw === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new ConfigError(`Invalid ASYA_RETRY_POLICY: not JSON (${(err as Error).message})`);
  }
  const result = retrySchema.safeParse(parsed);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ConfigError(`Invalid ASYA_RETRY_POLICY: ${problems} (expected spec.retry: {maxAttempts, initialDelaySeconds, multiplier, maxDelaySeconds, jitter, nonRetryableErrors})`);
  }
  return { retryPolicy: result.data };
}

export function parseBool(raw: string | undefined, fallback: boolean, name: string): boolean {
  if (raw === undefined) return fallback;
  const v = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  throw new ConfigError(`Invalid ${name}=${JSON.stringify(raw)}: expected true/false, 1/0, yes/no or on/off`);
}

export function parseInteger(raw: string | undefined, fallback: number, name: string, min: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new ConfigError(`Invalid ${name}=${JSON.stringify(raw)}: expected an integer >= ${min}`);
  return value;
}

function parseAddr(raw: string): { host?: string; port: number } {
  const match = /^(?<host>[^:]*):(?<port>\d+)$/.exec(raw.trim());
  if (!match?.groups) throw new ConfigError(`Invalid ASYA_METRICS_ADDR=${JSON.stringify(raw)}: expected [host]:port, e.g. :8080`);
  const port = Number(match.groups.port);
  return match.groups.host ? { host: match.groups.host, port } : { port };
}


function parseCustomMetrics(raw: string | undefined): CustomMetric[] {
  if (!raw) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new ConfigError(`Invalid ASYA_CUSTOM_METRICS: not JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(parsed)) throw new ConfigError('Invalid ASYA_CUSTOM_METRICS: expected a JSON array of {name, type, help, labels?, buckets?}');
  return parsed.map((m, i) => {
    const metric = m as Partial<CustomMetric>;
    if (typeof metric.name !== 'string' || !['counter', 'gauge', 'histogram'].includes(String(metric.type))) {
      throw new ConfigError(`Invalid ASYA_CUSTOM_METRICS[${i}]: needs a string name and type counter, gauge or histogram`);
    }
    return { name: metric.name, type: metric.type!, help: metric.help ?? metric.name, labels: metric.labels ?? [], buckets: metric.buckets };
  });
}
