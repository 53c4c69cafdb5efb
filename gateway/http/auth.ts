/**
 * Optional bearer tokens: one for clients, one for sidecars and the crew, so a leaked client token cannot
 * forge progress or final results. With no token configured the endpoints are open, as in the original.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { errorBody } from './errors.ts';
import { requestHeader } from './request-headers.ts';

function digest(value: string): Buffer {
  // Hashing first makes the comparison constant-time regardless of the presented token's length.
  return createHash('sha256').update(value).digest();
}

export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  return match?.[1]?.trim();
}

export function tokenMatches(presented: string | undefined, expected: string): boolean {
  return presented !== undefined && timingSafeEqual(digest(presented), digest(expected));
}

/** Accepts any of the configured tokens; with none configured, everyone. */
export function requireToken(realm: string, ...tokens: Array<string | undefined>): MiddlewareHandler {
  const expected = tokens.filter((t): t is string => typeof t === 'string' && t.length > 0);
  return async (c, next) => {
    if (expected.length === 0) return next();
    const presented = bearerToken(requestHeader(c, 'authorization'));
    if (expected.some((t) => tokenMatches(presented, t))) return next();
    c.header('WWW-Authenticate', `Bearer realm="${realm}"`);
    return c.json(errorBody(presented ? 'Invalid bearer token' : 'Missing bearer token (Authorization: Bearer <token>)'), 401);
  };
}
