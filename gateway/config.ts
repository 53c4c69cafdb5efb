/**
 * The gateway's settings from the environment. Names are the original's where it had them (reference §4.1);
 * the rest are ours and documented in docs/gateway.md. A bad value stops the gateway at startup with the
 * variable's name in the message, rather than running with a surprise.
 */
import { parseDuration } from '../protocol/duration.ts';
import { parseLogLevel, type LogLevel } from '../protocol/log.ts';
import { DEFAULT_OUTBOX_INTERVAL_MS, DEFAULT_OUTBOX_LEASE_MS } from './outbox.ts';

export type Env = Record<string, string | undefined>;

export interface GatewayConfig {
  port: number;
  host: string;
  /** Tools YAML file or directory; unset serves no tools (REST envelope endpoints still work). */
  configPath?: string;
  databaseUrl?: string;
  databaseSchema?: string;
  dbMaxConnections: number;
  dbMaxLifetimeSeconds: number;
  dbIdleTimeoutSeconds: number;
  /** Where the embedded store keeps data when no database URL is set; unset keeps it in memory. */
  dataDir?: string;
  autoMigrate: boolean;
  logLevel: LogLevel;
  /** Bearer token for client endpoints (/mcp, /tools/call, reading and cancelling envelopes). */
  apiToken?: string;
  /** Bearer token for the endpoints sidecars and the crew call (progress, final, fan-out children). */
  internalToken?: string;
  maxBodyBytes: number;
  /** Origins allowed by CORS; empty means no CORS headers at all. */
  corsOrigins: string[];
  sseKeepAliveMs: number;
  sweepIntervalMs: number;
  /** Final envelopes older than this are deleted; 0 keeps them forever. */
  retentionMs: number;
  cleanupIntervalMs: number;
  taskPollIntervalMs: number;
  shutdownTimeoutMs: number;
  /** How often the outbox relay looks for saved envelopes that were not published. */
  outboxIntervalMs: number;
  /** How long a publisher owns an outbox entry; after it, a relay on any replica publishes the envelope. */
  outboxLeaseMs: number;
}

export class GatewayConfigError extends Error {
  override readonly name = 'GatewayConfigError';
}

const MiB = 1024 * 1024;

export function loadGatewayConfig(env: Env = process.env): GatewayConfig {
  const text = (name: string) => {
    const value = env[name]?.trim();
    return value ? value : undefined;
  };
  const int = (name: string, fallback: number, min = 0) => {
    const raw = text(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min) throw new GatewayConfigError(`${name}=${JSON.stringify(raw)}: expected a whole number >= ${min}`);
    return Number(raw);
  };
  const ms = (name: string, fallback: string) => {
    const raw = text(name) ?? fallback;
    try {
      return parseDuration(raw, name);
    } catch (err) {
      throw new GatewayConfigError((err as Error).message);
    }
  };
  // A zero lease would hand every call's envelope to the relay while the call still publishes it.
  const positiveMs = (name: string, fallback: string) => {
    const value = ms(name, fallback);
    if (value <= 0) throw new GatewayConfigError(`${name}=${JSON.stringify(text(name))}: expected a duration above 0`);
    return value;
  };
  const bool = (name: string, fallback: boolean) => {
    const raw = text(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
    if (['0', 'false', 'no', 'off'].includes(raw)) return false;
    throw new GatewayConfigError(`${name}=${JSON.stringify(raw)}: expected true or false`);
  };
  const port = int('ASYA_GATEWAY_PORT', 8080);
  if (port > 65535) throw new GatewayConfigError(`ASYA_GATEWAY_PORT=${port}: expected a port number up to 65535`);
  return {
    port,
    host: text('ASYA_GATEWAY_HOST') ?? '0.0.0.0',
    configPath: text('ASYA_CONFIG_PATH'),
    databaseUrl: text('ASYA_DATABASE_URL'),
    databaseSchema: text('ASYA_DATABASE_SCHEMA'),
    dbMaxConnections: int('ASYA_DB_MAX_CONNS', 10, 1),
    dbMaxLifetimeSeconds: Math.round(ms('ASYA_DB_MAX_CONN_LIFETIME', '1h') / 1000),
    dbIdleTimeoutSeconds: Math.round(ms('ASYA_DB_MAX_CONN_IDLE_TIME', '30m') / 1000),
    dataDir: text('ASYA_GATEWAY_DATA_DIR'),
    autoMigrate: bool('ASYA_GATEWAY_AUTO_MIGRATE', true),
    logLevel: parseLogLevel(text('ASYA_LOG_LEVEL')),
    apiToken: text('ASYA_GATEWAY_API_TOKEN'),
    internalToken: text('ASYA_GATEWAY_TOKEN'),
    maxBodyBytes: int('ASYA_GATEWAY_MAX_BODY_BYTES', 10 * MiB, 1),
    corsOrigins: (text('ASYA_GATEWAY_CORS_ORIGINS') ?? '').split(',').map((o) => o.trim()).filter(Boolean),
    sseKeepAliveMs: ms('ASYA_GATEWAY_SSE_KEEPALIVE', '15s'),
    sweepIntervalMs: ms('ASYA_GATEWAY_SWEEP_INTERVAL', '1s'),
    retentionMs: ms('ASYA_GATEWAY_RETENTION', '168h'),
    cleanupIntervalMs: ms('ASYA_GATEWAY_CLEANUP_INTERVAL', '1h'),
    taskPollIntervalMs: ms('ASYA_GATEWAY_TASK_POLL_INTERVAL', '1s'),
    shutdownTimeoutMs: ms('ASYA_GATEWAY_SHUTDOWN_TIMEOUT', '10s'),
    outboxIntervalMs: positiveMs('ASYA_GATEWAY_OUTBOX_INTERVAL', `${DEFAULT_OUTBOX_INTERVAL_MS}ms`),
    outboxLeaseMs: positiveMs('ASYA_GATEWAY_OUTBOX_LEASE', `${DEFAULT_OUTBOX_LEASE_MS}ms`),
  };
}
