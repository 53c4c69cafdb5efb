/**
 * The 405 answers come from what is registered, not from a list kept beside it: a route registered here
 * (and nowhere else) shows up in the Allow header of its path, and the guard declared with it runs.
 */
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../protocol/log.ts';
import { GatewayMetrics } from '../metrics.ts';
import { Access } from './access.ts';
import { BodyBudget } from './request-body.ts';
import { refuseOtherMethods, Routes } from './routes.ts';

function appWith(register: (routes: Routes) => void): Hono {
  const app = new Hono();
  app.use('*', async (_c, next) => next());
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  const access = new Access({ auth: 'token', internalToken: 'internal-secret', apiToken: 'client-secret' }, createLogger('ERROR', 'test.routes'));
  register(new Routes(app, access, { maxBytes: 1024, budget: new BodyBudget(4096, metrics), metrics }));
  refuseOtherMethods(app);
  return app;
}

describe('routes', () => {
  const app = appWith((routes) => {
    routes.get('/things/:id', 'client', (c) => c.json({ id: c.req.param('id') }));
    routes.post('/things/:id', 'internal', (c) => c.json({ posted: c.req.param('id') }));
    routes.on(['GET', 'HEAD'], '/probe', 'public', (c) => c.text('OK'));
  });

  it('answers 405 with every registered method of the path, in registration order', async () => {
    const res = await app.request('/things/7', { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, POST');
    expect(await res.json()).toEqual({ error: 'Method not allowed: DELETE /things/:id (allowed: GET, POST)' });
    const probe = await app.request('/probe', { method: 'POST' });
    expect([probe.status, probe.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
  });

  it('runs the guard declared with each method, and leaves unknown paths 404', async () => {
    expect((await app.request('/things/7')).status).toBe(401);
    expect(await (await app.request('/things/7', { headers: { authorization: 'Bearer client-secret' } })).json()).toEqual({ id: '7' });
    const wrongRealm = await app.request('/things/7', { method: 'POST', headers: { authorization: 'Bearer client-secret' }, body: '{}' });
    expect(wrongRealm.status).toBe(401);
    const posted = await app.request('/things/7', { method: 'POST', headers: { authorization: 'Bearer internal-secret' }, body: '{}' });
    expect(await posted.json()).toEqual({ posted: '7' });
    expect((await app.request('/probe')).status).toBe(200);
    expect((await app.request('/elsewhere', { method: 'DELETE' })).status).toBe(404);
  });
});
