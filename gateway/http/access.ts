/**
 * Who may call what. Client endpoints take a client token, the endpoints sidecars and the crew call take
 * the internal token, so a leaked client token cannot forge progress or final results. A client token is
 * either shared (ASYA_GATEWAY_API_TOKEN, the original's single token) or the admin token, both of which see
 * every envelope, or a named one, whose caller sees only the envelopes it created. With auth `none`
 * (chosen explicitly, for development) every endpoint is open.
 *
 * The check runs before the body is read: a refused upload costs no memory. Refusals are logged without
 * the token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import type { Logger } from '../../protocol/log.ts';
import type { AuthMode } from '../config.ts';
import type { Caller } from '../core/caller.ts';
import { errorBody } from './errors.ts';
import { requestHeader } from './request-headers.ts';

export type Realm = 'public' | 'client' | 'internal' | 'client-or-internal';

declare module 'hono' {
  interface ContextVariableMap {
    caller: Caller;
  }
}

export interface AccessSettings {
  auth: AuthMode;
  apiToken?: string | undefined;
  adminToken?: string | undefined;
  clientTokens?: Record<string, string> | undefined;
  internalToken?: string | undefined;
}

function digest(value: string): Buffer {
  // Hashing first makes the comparison constant-time regardless of the presented token's length.
  return createHash('sha256').update(value).digest();
}

export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  return match?.[1]?.trim();
}

const MAX_LOGGED_PATH = 200;

export class Access {
  private readonly tokens: Array<{ digest: Buffer; caller: Caller }> = [];

  constructor(
    private readonly settings: AccessSettings,
    private readonly log: Logger,
  ) {
    const add = (token: string | undefined, caller: Caller) => {
      if (token) this.tokens.push({ digest: digest(token), caller });
    };
    add(settings.apiToken, { kind: 'admin' });
    add(settings.adminToken, { kind: 'admin' });
    for (const [owner, token] of Object.entries(settings.clientTokens ?? {})) add(token, { kind: 'client', owner });
    add(settings.internalToken, { kind: 'internal' });
  }

  /** The caller a token belongs to; every configured token is compared, so timing says nothing. */
  identify(presented: string | undefined): Caller | undefined {
    if (presented === undefined) return undefined;
    const given = digest(presented);
    let found: Caller | undefined;
    for (const { digest: known, caller } of this.tokens) if (timingSafeEqual(given, known)) found = caller;
    return found;
  }

  guard(realm: Realm): MiddlewareHandler {
    return async (c, next) => {
      if (realm === 'public') return next();
      if (this.settings.auth === 'none') {
        c.set('caller', { kind: 'open' });
        return next();
      }
      const presented = bearerToken(requestHeader(c, 'authorization'));
      const caller = this.identify(presented);
      if (caller && admits(realm, caller)) {
        c.set('caller', caller);
        return next();
      }
      const reason = !presented ? 'no bearer token' : caller ? `${caller.kind === 'internal' ? 'the internal' : 'a client'} token, not valid here` : 'an unknown bearer token';
      this.log.warn(`refused ${c.req.method} ${loggedPath(c)} (${realm} endpoint) from ${remoteOf(c)}: ${reason}`);
      c.header('WWW-Authenticate', `Bearer realm="${realm === 'internal' ? 'asya-gateway-internal' : 'asya-gateway'}"`);
      // The body is never read: close the connection rather than drain an upload nobody wants.
      c.header('Connection', 'close');
      const message = !presented
        ? 'Missing bearer token (Authorization: Bearer <token>)'
        : realm === 'internal' && caller ? 'This endpoint takes the internal token (ASYA_GATEWAY_TOKEN)' : 'Invalid bearer token';
      return c.json(errorBody(message), 401);
    };
  }
}

function admits(realm: Realm, caller: Caller): boolean {
  if (realm === 'internal') return caller.kind === 'internal';
  if (realm === 'client') return caller.kind !== 'internal';
  return true;
}

function loggedPath(c: Context): string {
  const path = c.req.path;
  return path.length > MAX_LOGGED_PATH ? `${path.slice(0, MAX_LOGGED_PATH)}...` : path;
}

function remoteOf(c: Context): string {
  const env: unknown = c.env;
  const incoming = typeof env === 'object' && env !== null && 'incoming' in env ? (env as { incoming: { socket?: { remoteAddress?: string } } }).incoming : undefined;
  return incoming?.socket?.remoteAddress ?? 'unknown address';
}
