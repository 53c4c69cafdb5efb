/**
 * The gateway's HTTP surface on hono (reference §4.2 plus our additions): MCP at /mcp, the REST tool call,
 * envelope reads, SSE, the reports sidecars send, and health. Tokens split client endpoints from the
 * internal ones; bodies are capped; every error is JSON; no CORS unless origins are configured.
 */
import { Hono, type Context } from 'hono';
import { cors } from 'hono/cors';
import type { GatewayDeps } from './deps.ts';
import { requireToken } from './http/auth.ts';
import { limitBody } from './http/body-limit.ts';
import { envelopeRoutes } from './http/envelope-routes.ts';
import { errorBody, errorResponse } from './http/errors.ts';
import { healthRoutes } from './http/health-routes.ts';
import { reportRoutes } from './http/report-routes.ts';
import { streamRoute } from './http/stream-route.ts';
import { toolRoutes } from './http/tool-routes.ts';
import { mcpRoutes } from './mcp/http.ts';

export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

/** Known paths answer 405 for other methods, as the original did, instead of a bare 404. */
const METHODS: Array<[string, string[]]> = [
  ['/tools/call', ['POST']],
  ['/envelopes', ['GET', 'POST']],
  ['/envelopes/:id', ['GET']],
  ['/envelopes/:id/stream', ['GET']],
  ['/envelopes/:id/active', ['GET']],
  ['/envelopes/:id/progress', ['POST']],
  ['/envelopes/:id/final', ['POST']],
  ['/envelopes/:id/cancel', ['POST']],
  ['/envelopes/:id/replay', ['POST']],
  ['/mcp', ['POST', 'DELETE', 'GET']],
  ['/ready', ['GET']],
  ['/metrics', ['GET']],
];

export function createGatewayApp(deps: GatewayDeps): Hono {
  const { options, metrics, log } = deps;
  const app = new Hono();

  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    const route = c.req.routePath && c.req.routePath !== '*' && c.req.routePath !== '/*' ? c.req.routePath : 'unmatched';
    metrics.httpRequests.inc({ route, method: c.req.method, status: String(c.res.status) });
    metrics.httpDuration.observe({ route, method: c.req.method }, (performance.now() - started) / 1000);
  });
  if (options.corsOrigins && options.corsOrigins.length > 0) {
    app.use('*', cors({ origin: options.corsOrigins, exposeHeaders: ['Mcp-Session-Id'], allowHeaders: ['Authorization', 'Content-Type', 'Mcp-Session-Id', 'Mcp-Protocol-Version', 'Last-Event-ID'] }));
  }
  const maxSize = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  app.use('*', limitBody(maxSize, (c) => c.json(errorBody(`Request body too large: the limit is ${maxSize} bytes`), 413)));

  const client = requireToken('asya-gateway', options.apiToken);
  const internal = requireToken('asya-gateway-internal', options.internalToken);
  const anyone = requireToken('asya-gateway', options.apiToken, options.internalToken);

  healthRoutes(app, deps);
  toolRoutes(app, deps, client);
  mcpRoutes(app, deps, client);
  streamRoute(app, deps, client);
  reportRoutes(app, deps, internal);
  envelopeRoutes(app, deps, client, anyone);

  for (const [path, allowed] of METHODS) {
    app.all(path, (c) => {
      c.header('Allow', allowed.join(', '));
      return c.json(errorBody(`Method not allowed: ${c.req.method} ${path} (allowed: ${allowed.join(', ')})`), 405);
    });
  }
  app.notFound((c) => c.json(errorBody(`Not found: ${c.req.method} ${new URL(c.req.url).pathname}`), 404));
  app.onError((err, c: Context) => errorResponse(c, err, (e) => log.error(`${c.req.method} ${c.req.path}: ${(e as Error)?.stack ?? String(e)}`)));
  return app;
}
