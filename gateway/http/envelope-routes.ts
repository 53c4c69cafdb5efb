/** Reading envelopes and cancelling them: GET /envelopes, GET /envelopes/{id}, /active, /cancel. */
import type { Context } from 'hono';
import { CancelRequest, type ActiveAnswer, type EnvelopeList } from '../../protocol/gateway-contract.ts';
import { canSee, ownerScope } from '../core/caller.ts';
import type { GatewayDeps } from '../deps.ts';
import type { EnvelopeStatus, ListFilter } from '../store/index.ts';
import { isFinal } from '../store/state-machine.ts';
import { envelopeJson } from '../core/envelope-json.ts';
import { errorBody, HttpError, notFound, parseJsonBody, parseRequest } from './errors.ts';
import { checkPathId } from './ids.ts';
import { bodyText } from './request-body.ts';
import type { Routes } from './routes.ts';

function dateParam(raw: string | undefined, name: string): Date | undefined {
  if (raw === undefined || raw === '') return undefined;
  const date = new Date(raw);
  if (Number.isNaN(date.getTime())) throw new HttpError(400, `Invalid ${name}: expected an RFC 3339 timestamp`);
  return date;
}

function listFilter(query: (name: string) => string | undefined): ListFilter {
  const filter: ListFilter = {};
  const status = query('status');
  if (status) filter.status = status.split(',').map((s) => s.trim()) as EnvelopeStatus[];
  const tool = query('tool');
  if (tool) filter.toolName = tool;
  const parent = query('parent_id');
  if (parent) filter.parentId = parent;
  const roots = query('roots');
  if (roots === 'true' || roots === '1') filter.rootsOnly = true;
  const from = dateParam(query('created_from'), 'created_from');
  const to = dateParam(query('created_to'), 'created_to');
  if (from) filter.createdFrom = from;
  if (to) filter.createdTo = to;
  const limit = query('limit');
  if (limit !== undefined) {
    if (!/^\d+$/.test(limit) || Number(limit) < 1 || Number(limit) > 500) throw new HttpError(400, 'Invalid limit: expected 1 to 500');
    filter.limit = Number(limit);
  }
  const cursor = query('cursor');
  if (cursor) filter.cursor = cursor;
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
    const page = await store.list({ ...listFilter((name) => c.req.query(name)), ...(owner !== undefined ? { owner } : {}) });
    const answer: EnvelopeList = { envelopes: page.items.map(envelopeJson), ...(page.nextCursor ? { next_cursor: page.nextCursor } : {}) };
    return c.json(answer);
  });

  routes.get('/envelopes/:id', 'client', async (c) => {
    const envelope = await visible(c, checkPathId(c.req.param('id')));
    if (!envelope) throw notFound();
    return c.json(envelopeJson(envelope));
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
