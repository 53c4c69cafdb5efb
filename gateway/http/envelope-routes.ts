/** Reading envelopes and cancelling them: GET /envelopes, GET /envelopes/{id}, /active, /cancel. */
import type { Context } from 'hono';
import { CancelRequest, ListQuery, type ActiveAnswer, type EnvelopeList } from '../../protocol/gateway-contract.ts';
import { canSee, ownerScope } from '../core/caller.ts';
import type { GatewayDeps } from '../deps.ts';
import type { EnvelopeStatus, ListFilter } from '../store/index.ts';
import { isFinal } from '../store/state-machine.ts';
import { envelopeJson } from '../core/envelope-json.ts';
import { viewForClient } from '../core/payloads.ts';
import { payloadRefOf } from '../../protocol/payload-ref.ts';
import { PayloadUnreadableError } from '../../payload-store/index.ts';
import { Readable } from 'node:stream';
import { errorBody, HttpError, notFound, parseJsonBody, parseRequest } from './errors.ts';
import { checkPathId } from './ids.ts';
import { bodyText } from './request-body.ts';
import type { Routes } from './routes.ts';

/** The store's filter from the query the contract checked (ListQuery). */
function listFilter(raw: Record<string, string>): ListFilter {
  const query = parseRequest(ListQuery, raw);
  const filter: ListFilter = {};
  if (query.status) filter.status = query.status.split(',').map((s) => s.trim()) as EnvelopeStatus[];
  if (query.tool) filter.toolName = query.tool;
  if (query.parent_id) filter.parentId = query.parent_id;
  if (query.roots === 'true' || query.roots === '1') filter.rootsOnly = true;
  if (query.created_from) filter.createdFrom = new Date(query.created_from);
  if (query.created_to) filter.createdTo = new Date(query.created_to);
  if (query.limit !== undefined) filter.limit = Number(query.limit);
  if (query.cursor) filter.cursor = query.cursor;
  if (query.id) filter.idPrefix = query.id;
  return filter;
}

export function envelopeRoutes(routes: Routes, deps: GatewayDeps): void {
  const { store } = deps;
  /** An envelope another named client owns is as unknown to this caller as one that never existed. */
  const visible = async (c: Context, id: string) => {
    const envelope = await store.get(id);
    return envelope && canSee(c.get('caller'), envelope) ? envelope : undefined;
  };

  routes.get('/envelopes', 'client', async (c) => {
    const owner = ownerScope(c.get('caller'));
    const page = await store.list({ ...listFilter(c.req.query()), ...(owner !== undefined ? { owner } : {}) });
    const answer: EnvelopeList = { envelopes: page.items.map(envelopeJson), ...(page.nextCursor ? { next_cursor: page.nextCursor } : {}) };
    return c.json(answer);
  });

  routes.get('/envelopes/:id', 'client', async (c) => {
    const envelope = await visible(c, checkPathId(c.req.param('id')));
    if (!envelope) throw notFound();
    return c.json(await viewForClient(deps.payloads, envelopeJson(envelope)));
  });

  // An offloaded result, streamed from the payload store as its JSON text (docs/payloads.md).
  routes.get('/envelopes/:id/result', 'client', async (c) => {
    const envelope = await visible(c, checkPathId(c.req.param('id')));
    if (!envelope) throw notFound();
    if (envelope.status !== 'succeeded') throw new HttpError(409, `Envelope is ${envelope.status}; it has no result`);
    const ref = payloadRefOf(envelope.result);
    if (!ref) return c.json(envelope.result);
    const store = deps.payloads?.store;
    if (!store) throw new HttpError(503, `The result is offloaded to ${ref.uri}, and this gateway has no payload store (ASYA_PAYLOAD_STORE)`);
    const body = await store.stream(ref.uri).catch((err: unknown) => {
      throw err instanceof PayloadUnreadableError ? new HttpError(410, `The result's object is gone: ${err.message}`) : err;
    });
    return new Response(Readable.toWeb(body) as ReadableStream, {
      headers: { 'content-type': ref.content_type, 'content-length': String(ref.size), 'x-asya-payload-sha256': ref.sha256 },
    });
  });

  // The original answered 410 for an unknown id too; an id that never existed is a 404 here.
  routes.get('/envelopes/:id/active', 'client-or-internal', async (c) => {
    const envelope = await visible(c, checkPathId(c.req.param('id')));
    if (!envelope) return c.json(errorBody('Envelope not found', { active: false }), 404);
    const active = !isFinal(envelope.status) && (!envelope.deadline || envelope.deadline.getTime() > Date.now());
    return c.json({ active } satisfies ActiveAnswer, active ? 200 : 410);
  });

  routes.post('/envelopes/:id/cancel', 'client', async (c) => {
    const id = checkPathId(c.req.param('id'));
    if (!(await visible(c, id))) throw notFound();
    const text = bodyText(c);
    let reason: string | undefined;
    if (text.trim() !== '') reason = parseRequest(CancelRequest, parseJsonBody(text)).reason || undefined;
    const result = await store.cancel(id, reason);
    if (result.outcome === 'not_found') throw notFound();
    if (result.outcome === 'ignored') {
      throw new HttpError(409, `Envelope is already ${result.envelope.status}`, { envelope: envelopeJson(result.envelope) });
    }
    return c.json(envelopeJson(result.envelope));
  });
}
