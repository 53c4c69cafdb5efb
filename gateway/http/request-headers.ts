/**
 * Reading request headers without building a fetch `Headers`. @hono/node-server builds one lazily from
 * Node's header object the first time anything asks (`c.req.header()` does), and that copy costs more
 * than the rest of a small request's routing; Node's own object already holds every header, lower-cased,
 * with repeated ones joined by ", " as `Headers.get` would. Apps run without a Node request (tests through
 * `app.request()`) fall back to hono.
 */
import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';

function incomingOf(c: Context): IncomingMessage | undefined {
  const env: unknown = c.env;
  if (typeof env !== 'object' || env === null || !('incoming' in env)) return undefined;
  return (env as { incoming: IncomingMessage }).incoming;
}

/** name must be lower-case. */
export function requestHeader(c: Context, name: string): string | undefined {
  const incoming = incomingOf(c);
  if (!incoming) return c.req.header(name);
  const value = incoming.headers[name];
  // Only set-cookie arrives as an array; join it as Headers.get does for everything else.
  return Array.isArray(value) ? value.join(', ') : value;
}
