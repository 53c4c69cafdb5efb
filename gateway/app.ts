/**
 * The gateway's HTTP surface on hono (docs/gateway.md, "HTTP API" and "MCP"): MCP at /mcp, the REST tool call,
 * envelope reads, SSE, the reports sidecars send, and health. Tokens split client endpoints from the
 * internal ones; bodies are capped; every error is JSON; no CORS unless origins are configured.
 */
import { Hono, type Context } from 'hono';
import { cors } from 'hono/cors';
import type { GatewayDeps } from './deps.ts';
import { DEFAULT_BODY_BUDGET_BYTES, DEFAULT_MAX_BODY_BYTES } from './config.ts';
import { Access } from './http/access.ts';
import { envelopeRoutes } from './http/envelope-routes.ts';
import { errorBody, errorResponse } from './http/errors.ts';
import { healthRoutes } from './http/health-routes.ts';
import { pauseRoutes } from './http/pause-routes.ts';
import { reportRoutes } from './http/report-routes.ts';
import { fanInRoutes } from './http/fan-in-routes.ts';
import { BodyBudget } from './http/request-body.ts';
import { refuseOtherMethods, Routes } from './http/routes.ts';
import { streamRoute } from './http/stream-route.ts';
import { toolRoutes } from './http/tool-routes.ts';
import { mcpRoutes } from './mcp/http.ts';
import { consoleRoutes } from './console/routes.ts';
import { consoleDir, serveConsoleFiles } from './console/static.ts';
import { asError } from '../protocol/errors.ts';
import { IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER } from '../protocol/gateway-contract.ts';

export function createGatewayApp(deps: GatewayDeps): Hono {
  const { options, metrics, log } = deps;
  const app = new Hono();

  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    const route = c.req.routePath && c.req.routePath !== '*' && c.req.routePath !== '/*' ? c.req.routePath : 'unmatched';
    metrics.httpRequests.labels({ route, method: c.req.method, status: String(c.res.status) }).inc();
    metrics.httpDuration.labels({ route, method: c.req.method }).observe((performance.now() - started) / 1000);
  });
  if (options.corsOrigins && options.corsOrigins.length > 0) {
    app.use('*', cors({
      origin: options.corsOrigins,
      exposeHeaders: ['Mcp-Session-Id', IDEMPOTENT_REPLAYED_HEADER],
      allowHeaders: ['Authorization', 'Content-Type', 'Mcp-Session-Id', 'Mcp-Protocol-Version', 'Last-Event-ID', IDEMPOTENCY_KEY_HEADER],
    }));
  }
  if (options.auth === 'none') log.warn('ASYA_GATEWAY_AUTH=none: every endpoint is open to anyone who can reach this gateway (development only)');
  const access = new Access(options, log);
  const limits = {
    maxBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    budget: new BodyBudget(options.bodyBudgetBytes ?? DEFAULT_BODY_BUDGET_BYTES, metrics),
    metrics,
  };
  // Each surface registers its endpoints with who may call them (http/routes.ts); the 405 answers follow.
  const routes = new Routes(app, access, limits);
  healthRoutes(routes, deps);
  toolRoutes(routes, deps);
  mcpRoutes(routes, deps);
  streamRoute(routes, deps);
  reportRoutes(routes, deps);
  pauseRoutes(routes, deps);
  fanInRoutes(routes, deps);
  envelopeRoutes(routes, deps);
  if (options.ui) {
    consoleRoutes(routes, deps, deps.consoleSources ?? {}, { traceUrl: options.traceUrl });
    const dir = consoleDir();
    if (dir) serveConsoleFiles(app, dir);
    else log.warn('ASYA_GATEWAY_UI is on but this installation has no console files (gateway/ui); /ui answers 404');
  }
  refuseOtherMethods(app);
  app.notFound((c) => c.json(errorBody(`Not found: ${c.req.method} ${new URL(c.req.url).pathname}`), 404));
  app.onError((err, c: Context) => errorResponse(c, err, (e) => log.error(`${c.req.method} ${c.req.path}: ${asError(e).stack ?? String(e)}`)));
  return app;
}
