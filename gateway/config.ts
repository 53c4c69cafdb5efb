/**
 * The gateway's settings from the environment. Names are the original's where it had them (docs/configuration.md, "Gateway");
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
  /** `token` (the default) requires tokens on every endpoint but health; `none` opens them (development). */
  auth: AuthMode;
  /** Shared client token (/mcp, /tools/call, reading and cancelling envelopes); it sees every envelope. */
  apiToken?: string;
  /** Client token that sees every caller's envelopes. */
  adminToken?: string;
  /** Named client tokens, name -> token: each caller sees only the envelopes it created. */
  clientTokens: Record<string, string>;
  /** Bearer token for the endpoints sidecars and the crew call (progress, final, fan-out children). */
  internalToken?: string;
  maxBodyBytes: number;
  /** All request bodies being read or handled at once share this many bytes; the excess gets 503. */
  bodyBudgetBytes: number;
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
export type AuthMode = 'token' | 'none';
const AUTH_MODES: readonly AuthMode[] = ['token', 'none'];

/**
 * Sized for the 512 Mi memory limit the charts set: an idle gateway holds about 160 MiB, and a body in
 * flight costs about nine times its size at the peak while it is read, parsed, checked, stored and published
 * (measured in bench/gateway/hostile-bodies.ts, docs/performance.md): 32 MiB of bodies peaked at about
 * 430 MiB, 48 MiB at 550 MiB.
 */
export const DEFAULT_BODY_BUDGET_BYTES = 32 * MiB;
export const DEFAULT_MAX_BODY_BYTES = 10 * MiB;

/** `name:token` entries separated by commas or newlines; a name is what envelopes record as their owner. */
export function parseClientTokens(raw: string | undefined, variable = 'ASYA_GATEWAY_CLIENT_TOKENS'): Record<string, string> {
  const tokens: Record<string, string> = {};
  for (const entry of (raw ?? '').split(/[,\n]/).map((e) => e.trim()).filter(Boolean)) {
    const colon = entry.indexOf(':');
    const name = colon > 0 ? entry.slice(0, colon).trim() : '';
    const token = colon > 0 ? entry.slice(colon + 1).trim() : '';
    if (!/^[A-Za-z0-9._@-]{1,128}$/.test(name) || token === '') {
      throw new GatewayConfigError(`${variable}: expected name:token entries separated by commas (names of letters, digits and . _ @ -), got an entry starting ${JSON.stringify(entry.slice(0, Math.max(colon, 0) + 1) || entry.slice(0, 8))}`);
    }
    if (name in tokens) throw new GatewayConfigError(`${variable}: the name ${name} is given twice`);
    tokens[name] = token;
  }
  return tokens;
}

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
    auth: authMode(text('ASYA_GATEWAY_AUTH')),
    apiToken: text('ASYA_GATEWAY_API_TOKEN'),
    adminToken: text('ASYA_GATEWAY_ADMIN_TOKEN'),
    clientTokens: parseClientTokens(text('ASYA_GATEWAY_CLIENT_TOKENS')),
    internalToken: text('ASYA_GATEWAY_TOKEN'),
    maxBodyBytes: int('ASYA_GATEWAY_MAX_BODY_BYTES', DEFAULT_MAX_BODY_BYTES, 1),
    bodyBudgetBytes: int('ASYA_GATEWAY_BODY_BUDGET_BYTES', DEFAULT_BODY_BUDGET_BYTES, 1),
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

function authMode(raw: string | undefined): AuthMode {
  const mode = (raw ?? 'token').toLowerCase();
  if (!AUTH_MODES.includes(mode as AuthMode)) throw new GatewayConfigError(`ASYA_GATEWAY_AUTH=${JSON.stringify(raw)}: expected ${AUTH_MODES.join(' or ')}`);
  return mode as AuthMode;
}

/**
 * Nobody gets in by default: with auth `token` the internal token and at least one client token must be
 * set, and `none` must be chosen explicitly and then holds no tokens (a half-configured gateway would leave
 * one door open). Run on the final settings, after a caller's overrides.
 */
export function checkSettings(config: GatewayConfig): void {
  if (config.bodyBudgetBytes < config.maxBodyBytes) {
    throw new GatewayConfigError(`ASYA_GATEWAY_BODY_BUDGET_BYTES=${config.bodyBudgetBytes} is below ASYA_GATEWAY_MAX_BODY_BYTES=${config.maxBodyBytes}: a body of the largest allowed size could never be accepted`);
  }
  const clientTokens = [config.apiToken, config.adminToken, ...Object.values(config.clientTokens)].filter(Boolean);
  if (config.auth === 'none') {
    if (clientTokens.length > 0 || config.internalToken) {
      throw new GatewayConfigError('ASYA_GATEWAY_AUTH=none opens every endpoint, but tokens are configured too: remove the tokens, or drop ASYA_GATEWAY_AUTH=none to require them');
    }
    return;
  }
  if (clientTokens.length === 0 && !config.internalToken) {
    throw new GatewayConfigError('no tokens configured: set ASYA_GATEWAY_TOKEN (sidecars and crew) and ASYA_GATEWAY_API_TOKEN, ASYA_GATEWAY_CLIENT_TOKENS or ASYA_GATEWAY_ADMIN_TOKEN (clients), or set ASYA_GATEWAY_AUTH=none to run with every endpoint open (development only)');
  }
  if (!config.internalToken) {
    throw new GatewayConfigError('a client token is configured but ASYA_GATEWAY_TOKEN is not: the internal endpoints (progress, final results, fan-out children) would be open to anyone; set ASYA_GATEWAY_TOKEN');
  }
  if (clientTokens.length === 0) {
    throw new GatewayConfigError('ASYA_GATEWAY_TOKEN is configured but no client token is: /mcp, /tools/call and the envelope reads would be open to anyone; set ASYA_GATEWAY_API_TOKEN, ASYA_GATEWAY_CLIENT_TOKENS or ASYA_GATEWAY_ADMIN_TOKEN');
  }
  const all = [...clientTokens, config.internalToken];
  if (new Set(all).size !== all.length) {
    throw new GatewayConfigError('two gateway tokens have the same value: every client token and the internal token must differ, or one caller would act as another');
  }
}
