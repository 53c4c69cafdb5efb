/**
 * What sidecars and end actors report (internal token): progress, final status, fan-out children.
 *
 * A report for an envelope that is already final changes nothing and answers 200 "ignored": the sender
 * retries anything else, and a redelivered final must not loop. A child's progress can reach us before the
 * parent's sidecar registered it; the child is then recorded from the progress and linked when its
 * registration arrives (the store upserts), so neither report is lost.
 */
import type { Hono, MiddlewareHandler } from 'hono';
import type { GatewayDeps } from '../deps.ts';
import { DuplicateEnvelopeError, type ProgressInput, type UpdateResult } from '../store/index.ts';
import { HttpError, notFound, readJson } from './errors.ts';
import { checkPathId } from './ids.ts';
import { childBody, finalBody, progressBody, registration } from './report-bodies.ts';

export function reportRoutes(app: Hono, deps: GatewayDeps, internal: MiddlewareHandler): void {
  const { store } = deps;

  const progressFor = async (id: string, input: ProgressInput): Promise<UpdateResult> => {
    const first = await store.appendProgress(id, input);
    if (first.outcome !== 'not_found' || !input.actors) return first;
    try {
      await store.create({ id, actors: input.actors, payload: null });
    } catch (err) {
      // Another report (or the registration) created it meanwhile; the progress applies all the same.
      if (!(err instanceof DuplicateEnvelopeError)) throw err;
    }
    return store.appendProgress(id, input);
  };

  app.post('/envelopes/:id/progress', internal, async (c) => {
    const id = checkPathId(c.req.param('id'));
    const result = await progressFor(id, progressBody(await readJson(c)));
    if (result.outcome === 'not_found') throw notFound();
    if (result.outcome === 'ignored') {
      return c.json({ status: 'ignored', reason: result.reason, progress_percent: result.envelope.progressPercent });
    }
    return c.json({ status: 'ok', progress_percent: result.envelope.progressPercent });
  });

  app.post('/envelopes/:id/final', internal, async (c) => {
    const id = checkPathId(c.req.param('id'));
    const result = await store.setFinal(id, finalBody(await readJson(c)));
    if (result.outcome === 'not_found') throw notFound();
    if (result.outcome === 'ignored') return c.json({ status: 'ignored', reason: result.reason });
    // deferred: a fan-out parent's own branch is recorded; it finishes with its children.
    return c.json({ status: 'ok', ...(result.outcome === 'deferred' ? { waiting_for_children: true } : {}) });
  });

  app.post('/envelopes', internal, async (c) => {
    const child = childBody(await readJson(c));
    checkPathId(child.id);
    if (!child.parentId) {
      try {
        await store.create({
          id: child.id, actors: child.actors, payload: child.payload ?? null,
          ...(child.current !== undefined ? { routeCurrent: child.current } : {}),
          ...(child.headers ? { headers: child.headers } : {}),
        });
      } catch (err) {
        if (err instanceof DuplicateEnvelopeError) throw new HttpError(409, `Envelope ${child.id} already exists`);
        throw err;
      }
      return c.json({ status: 'created', id: child.id }, 201);
    }
    const result = await store.registerChild(registration({ ...child, parentId: checkPathId(child.parentId) }));
    if (result.outcome === 'not_found') throw notFound('Parent envelope');
    if (result.outcome === 'ignored') return c.json({ status: 'exists', id: child.id });
    return c.json({ status: 'created', id: child.id }, 201);
  });
}
