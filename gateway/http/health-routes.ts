/** Liveness, readiness and metrics; open without a token so probes and scrapers need no secret. */
import type { Hono } from 'hono';
import type { ReadyAnswer } from '../../protocol/gateway-contract.ts';
import type { GatewayDeps } from '../deps.ts';

export function healthRoutes(app: Hono, deps: GatewayDeps): void {
  // The original's exact body; the process is alive even when the database is not.
  app.on(['GET', 'HEAD'], '/health', (c) => c.text('OK\n'));

  app.get('/ready', async (c) => {
    const up = await deps.store.ping().catch(() => false);
    deps.metrics.storeUp.set(up ? 1 : 0);
    const pending = up ? await deps.store.pendingMigrations().catch(() => undefined) : undefined;
    if (pending?.length === 0) return c.json({ status: 'ready' } satisfies ReadyAnswer);
    c.header('Retry-After', '1');
    const error = pending ? `database schema is behind: migration(s) ${pending.join(', ')} not applied (asya gateway migrate)` : 'envelope store unreachable';
    return c.json({ status: 'not ready', error } satisfies ReadyAnswer, 503);
  });

  app.get('/metrics', async (c) => {
    c.header('Content-Type', deps.metrics.registry.contentType);
    return c.body(await deps.metrics.registry.metrics());
  });
}
