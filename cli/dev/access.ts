/**
 * Who may call the dev gateway. With no token in the environment it runs open (ASYA_GATEWAY_AUTH=none,
 * which the gateway requires to be said out loud) and dev mode says so. With a client token but no
 * internal one, dev mode makes up the internal token and hands it to the crew and sidecars it runs, which
 * are the only callers of the internal endpoints.
 */
import { randomBytes } from 'node:crypto';
import { GATEWAY_SETTINGS } from '../../gateway/settings.ts';
import { envName, toEnvRecord } from '../../settings/index.ts';

type Env = Record<string, string | undefined>;

const CLIENT_TOKEN_VARIABLES = (['apiToken', 'adminToken', 'clientTokens'] as const).map((key) => envName(GATEWAY_SETTINGS, key));
const AUTH = envName(GATEWAY_SETTINGS, 'auth');
const INTERNAL_TOKEN = envName(GATEWAY_SETTINGS, 'internalToken');

export function devAccessEnv(env: Env, say: (line: string) => void): Env {
  const set = (name: string) => (env[name]?.trim() ?? '') !== '';
  const clientToken = CLIENT_TOKEN_VARIABLES.some(set);
  if (set(AUTH) || (!clientToken && set(INTERNAL_TOKEN))) return env;
  if (!clientToken) {
    say('the gateway is OPEN (ASYA_GATEWAY_AUTH=none): anyone who can reach it can call tools and read every result; set ASYA_GATEWAY_API_TOKEN to require a token');
    return { ...env, ...toEnvRecord(GATEWAY_SETTINGS, { auth: 'none' }) };
  }
  if (set(INTERNAL_TOKEN)) return env;
  return { ...env, ...toEnvRecord(GATEWAY_SETTINGS, { internalToken: randomBytes(24).toString('base64url') }) };
}
