/**
 * The gateway's settings from the environment, as declared in gateway/settings.ts, and the rules that
 * involve several of them. A bad value stops the gateway at startup with the variable's name in the
 * message, rather than running with a surprise.
 */
import { fromEnv, type Settings } from '../settings/index.ts';
import { GATEWAY_SETTINGS, readClientTokens } from './settings.ts';

export type Env = Record<string, string | undefined>;

export { DEFAULT_BODY_BUDGET_BYTES, DEFAULT_MAX_BODY_BYTES, type AuthMode } from './settings.ts';

type Read = Settings<typeof GATEWAY_SETTINGS>;

/** The settings as declared, with the pool's lifetimes in the seconds postgres.js takes. */
export type GatewayConfig = Omit<Read, 'dbMaxLifetimeMs' | 'dbIdleTimeoutMs'> & { dbMaxLifetimeSeconds: number; dbIdleTimeoutSeconds: number };

export class GatewayConfigError extends Error {
  override readonly name = 'GatewayConfigError';
}

/** `name:token` entries separated by commas or newlines (ASYA_GATEWAY_CLIENT_TOKENS's syntax). */
export function parseClientTokens(raw: string | undefined, variable = 'ASYA_GATEWAY_CLIENT_TOKENS'): Record<string, string> {
  try {
    return readClientTokens(raw ?? '');
  } catch (err) {
    throw new GatewayConfigError(`${variable}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export function loadGatewayConfig(env: Env = process.env): GatewayConfig {
  const { dbMaxLifetimeMs, dbIdleTimeoutMs, ...settings } = fromEnv(GATEWAY_SETTINGS, env, { error: (message) => new GatewayConfigError(message) });
  return { ...settings, dbMaxLifetimeSeconds: Math.round(dbMaxLifetimeMs / 1000), dbIdleTimeoutSeconds: Math.round(dbIdleTimeoutMs / 1000) };
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
