/**
 * The request body cap. hono's bodyLimit reads `c.req.raw.body`, which makes @hono/node-server build a
 * full fetch Request (a web ReadableStream over the socket, an AbortController and a Headers copy) for
 * every request, GETs included; that was a large share of a tool call's CPU. When the client declared a
 * Content-Length, Node's parser delivers exactly that many bytes, so the header alone decides and the body
 * is left for the handler to read through the adapter's direct path. Chunked bodies, whose size is known
 * only by reading them, still go through hono's streaming check.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { requestHeader } from './request-headers.ts';

export function limitBody(maxSize: number, onTooLarge: (c: Context) => Response | Promise<Response>): MiddlewareHandler {
  const streaming = bodyLimit({ maxSize, onError: onTooLarge });
  return async (c, next) => {
    const method = c.req.method;
    if (method === 'GET' || method === 'HEAD') return next();
    const declared = requestHeader(c, 'content-length');
    if (declared !== undefined && requestHeader(c, 'transfer-encoding') === undefined) {
      return Number.parseInt(declared, 10) > maxSize ? onTooLarge(c) : next();
    }
    return streaming(c, next);
  };
}
