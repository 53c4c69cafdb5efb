/** Liveness, readiness and metrics; open without a token so probes and scrapers need no secret. */
import type { ReadyAnswer } from '../../protocol/gateway-contract.ts';
import type { GatewayDeps } from '../deps.ts';
import type { Routes } from './routes.ts';

export function healthRoutes(routes: Routes, deps: GatewayDeps): void {
  // The original's exact body; the process is alive even when the database is not.
  routes.on(['GET', 'HEAD'], '/health', 'public', (c) => c.text('OK\n'));

  routes.get('/ready', 'public', async (c) => {
    const up = await deps.store.ping().catch(() => false);
    deps.metrics.storeUp.set(up ? 1 : 0);
    const pending = up ? await deps.store.pendingMigrations().catch(() => undefined) : undefined;
    if (pending?.length === 0) return c.json({ status: 'ready' } satisfies ReadyAnswer);
    c.header('Retry-After', '1');
    const error = pending ? `database schema is behind: migration(s) ${pending.join(', ')} not applied (asya gateway migrate)` : 'envelope store unreachable';
    return c.json({ status: 'not ready', error } satisfies ReadyAnswer, 503);
  });

  routes.get('/metrics', 'public', async (c) => {
    c.header('Content-Type', deps.metrics.registry.contentType);
    return c.body(await deps.metrics.registry.metrics());
  });
}
