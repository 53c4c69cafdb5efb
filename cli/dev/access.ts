/**
 * Who may call the dev gateway. With no token in the environment it runs open (ASYA_GATEWAY_AUTH=none,
 * which the gateway requires to be said out loud) and dev mode says so. With a client token but no
 * internal one, dev mode makes up the internal token and hands it to the crew and sidecars it runs, which
 * are the only callers of the internal endpoints.
 */
import { randomBytes } from 'node:crypto';

type Env = Record<string, string | undefined>;

const CLIENT_TOKEN_VARIABLES = ['ASYA_GATEWAY_API_TOKEN', 'ASYA_GATEWAY_ADMIN_TOKEN', 'ASYA_GATEWAY_CLIENT_TOKENS'] as const;

export function devAccessEnv(env: Env, say: (line: string) => void): Env {
  const set = (name: string) => (env[name]?.trim() ?? '') !== '';
  const clientToken = CLIENT_TOKEN_VARIABLES.some(set);
  if (set('ASYA_GATEWAY_AUTH') || (!clientToken && set('ASYA_GATEWAY_TOKEN'))) return env;
  if (!clientToken) {
    say('the gateway is OPEN (ASYA_GATEWAY_AUTH=none): anyone who can reach it can call tools and read every result; set ASYA_GATEWAY_API_TOKEN to require a token');
    return { ...env, ASYA_GATEWAY_AUTH: 'none' };
  }
  if (set('ASYA_GATEWAY_TOKEN')) return env;
  return { ...env, ASYA_GATEWAY_TOKEN: randomBytes(24).toString('base64url') };
}
