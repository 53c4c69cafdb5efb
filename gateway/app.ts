/**
 * The gateway's HTTP surface on hono (docs/gateway.md, "HTTP API" and "MCP"): MCP at /mcp, the REST tool call,
 * envelope reads, SSE, the reports sidecars send, and health. Tokens split client endpoints from the
 * internal ones; bodies are capped; every error is JSON; no CORS unless origins are configured.
 */
import { Hono, type Context } from 'hono';
import { cors } from 'hono/cors';
import type { GatewayDeps } from './deps.ts';
import { DEFAULT_BODY_BUDGET_BYTES, DEFAULT_MAX_BODY_BYTES } from './config.ts';
import { Access, type Realm } from './http/access.ts';
import { envelopeRoutes } from './http/envelope-routes.ts';
import { errorBody, errorResponse } from './http/errors.ts';
import { healthRoutes } from './http/health-routes.ts';
import { finalTooLarge, reportRoutes } from './http/report-routes.ts';
import { BodyBudget, readBody, type TooLargeHandler } from './http/request-body.ts';
import { streamRoute } from './http/stream-route.ts';
import { toolRoutes } from './http/tool-routes.ts';
import { mcpRoutes } from './mcp/http.ts';

type Method = 'GET' | 'POST' | 'DELETE';

/**
 * Every endpoint and who may call it, in one place: the guards, the body reading and the 405 answers
 * (known paths answer 405 for other methods, as the original did, instead of a bare 404) all come from here.
 * /health (GET and HEAD) is open and registered with the other probes.
 */
const ROUTES: Array<{ path: string; methods: Partial<Record<Method, Realm>> }> = [
  { path: '/tools/call', methods: { POST: 'client' } },
  { path: '/envelopes', methods: { GET: 'client', POST: 'internal' } },
  { path: '/envelopes/:id', methods: { GET: 'client' } },
  { path: '/envelopes/:id/stream', methods: { GET: 'client' } },
  { path: '/envelopes/:id/active', methods: { GET: 'client-or-internal' } },
  { path: '/envelopes/:id/progress', methods: { POST: 'internal' } },
  { path: '/envelopes/:id/final', methods: { POST: 'internal' } },
  { path: '/envelopes/:id/cancel', methods: { POST: 'client' } },
  { path: '/envelopes/:id/replay', methods: { POST: 'internal' } },
  { path: '/mcp', methods: { POST: 'client', DELETE: 'client', GET: 'client' } },
  { path: '/ready', methods: { GET: 'public' } },
  { path: '/metrics', methods: { GET: 'public' } },
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
  if (options.auth === 'none') log.warn('ASYA_GATEWAY_AUTH=none: every endpoint is open to anyone who can reach this gateway (development only)');
  const access = new Access(options, log);
  const limits = {
    maxBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    budget: new BodyBudget(options.bodyBudgetBytes ?? DEFAULT_BODY_BUDGET_BYTES, metrics),
    metrics,
  };
  // A final report too large to read still settles its envelope (failed, result_too_large).
  const tooLarge: Record<string, TooLargeHandler> = { '/envelopes/:id/final': finalTooLarge(deps) };
  for (const { path, methods } of ROUTES) {
    for (const [method, realm] of Object.entries(methods)) {
      // The token is checked before a byte of the body is read.
      if (method === 'GET') app.on(method, path, access.guard(realm));
      else app.on(method, path, access.guard(realm), readBody(limits, tooLarge[path]));
    }
  }

  healthRoutes(app, deps);
  toolRoutes(app, deps);
  mcpRoutes(app, deps);
  streamRoute(app, deps);
  reportRoutes(app, deps);
  envelopeRoutes(app, deps);

  for (const { path, methods } of ROUTES) {
    const allowed = Object.keys(methods);
    app.all(path, (c) => {
      c.header('Allow', allowed.join(', '));
      return c.json(errorBody(`Method not allowed: ${c.req.method} ${path} (allowed: ${allowed.join(', ')})`), 405);
    });
  }
  app.notFound((c) => c.json(errorBody(`Not found: ${c.req.method} ${new URL(c.req.url).pathname}`), 404));
  app.onError((err, c: Context) => errorResponse(c, err, (e) => log.error(`${c.req.method} ${c.req.path}: ${(e as Error)?.stack ?? String(e)}`)));
  return app;
}
