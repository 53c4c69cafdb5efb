/**
 * POST /envelopes/{child id}/fan-in (internal token): the fan-in crew actor reports a child that reached
 * its step. The store records it in one transaction with the child's final status and, when it completes
 * the fan-in, the combined envelope (fan-in-ledger.ts); the route then publishes that at once.
 * A child whose registration has not arrived yet is answered 503, so the actor's sidecar holds the
 * message and asks again (registrations travel from the fan-out's sidecar in the background).
 */
import { FanInArrivalRequest, type FanInAnswer } from '../../protocol/fan-in.ts';
import type { GatewayDeps } from '../deps.ts';
import { publishCombined } from '../fan-in-relay.ts';
import { HttpError, notFound, parseRequest } from './errors.ts';
import { checkPathId } from './ids.ts';
import { readJson } from './request-body.ts';
import type { Routes } from './routes.ts';

export function fanInRoutes(routes: Routes, deps: GatewayDeps): void {
  routes.post('/envelopes/:id/fan-in', 'internal', async (c) => {
    const id = checkPathId(c.req.param('id'));
    const arrival = parseRequest(FanInArrivalRequest, readJson(c));
    checkPathId(arrival.parent_id);
    const result = await deps.store.fanIns.arrive(id, arrival);
    if (result.status === 'not_found') throw notFound('Parent envelope');
    if (result.status === 'not_registered') throw new HttpError(503, result.reason);
    if (result.status === 'emitted') {
      await publishCombined({ store: deps.store, transport: deps.transport, log: deps.log, leaseMs: deps.options.outboxLeaseMs }).catch((err: unknown) => {
        deps.log.warn(`combined envelope of ${arrival.parent_id} left to the relay: ${String(err)}`);
      });
    }
    return c.json(result satisfies FanInAnswer);
  });
}
