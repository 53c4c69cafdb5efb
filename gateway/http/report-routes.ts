/**
 * What sidecars and end actors report (internal token): progress, final status, fan-out children.
 *
 * A report for an envelope that is already final changes nothing and answers 200 "ignored": the sender
 * retries anything else, and a redelivered final must not loop. A child's progress can reach us before the
 * parent's sidecar registered it; the child is then recorded from the progress and linked when its
 * registration arrives (the store upserts), so neither report is lost. The same holds for a child's final
 * status: end actors report it synchronously while sidecars send progress and registrations from a
 * background queue, so on a busy fan-out happy-end's report can be the first the gateway hears of a child.
 *
 * POST /envelopes/{id}/replay is the operator's counterpart (`asya dlq replay` calls it before it sends a
 * dead letter back): the one audited way out of `failed`, refused with 409 for anything else.
 */
import {
  PROGRESS_BATCH_PATH, ProgressBatchRequest, RESULT_TOO_LARGE,
  type ChildAnswer, type FinalAnswer, type ProgressAnswer, type ProgressBatchAnswer,
} from '../../protocol/gateway-contract.ts';
import { isPlainObject } from '../../protocol/json.ts';
import { errorText } from '../../protocol/errors.ts';
import type { GatewayDeps } from '../deps.ts';
import { DuplicateEnvelopeError, InvalidEnvelopeInputError, StoreUnavailableError, type EnvelopeStore, type FinalInput, type ProgressInput, type UpdateResult } from '../store/index.ts';
import { envelopeJson } from '../core/envelope-json.ts';
import { errorBody, HttpError, notFound, parseJsonBody, parseRequest } from './errors.ts';
import { checkPathId } from './ids.ts';
import { bodyText, readJson, type TooLargeHandler } from './request-body.ts';
import { childBody, finalBody, progressBody, registration, replayBody } from './report-bodies.ts';
import type { Routes } from './routes.ts';
import { SucceededIds } from './succeeded-ids.ts';

/**
 * The route an unknown id is recorded with when its final status comes first: that of its nearest known
 * ancestor by the fan-out id scheme (`<parent>-<index>`, nested: `<parent>-<i>-<j>`). Any other unknown
 * id stays unknown (404), as before.
 */
async function ancestorRoute(store: EnvelopeStore, id: string): Promise<string[] | undefined> {
  let candidate = id;
  for (let depth = 0; depth < 16; depth++) {
    const match = /^(.+)-\d{1,9}$/.exec(candidate);
    if (!match) return undefined;
    candidate = match[1]!;
    const ancestor = await store.get(candidate);
    if (ancestor) return ancestor.routeActors;
  }
  return undefined;
}

async function finalFor(store: EnvelopeStore, id: string, input: FinalInput): Promise<UpdateResult> {
  const first = await store.setFinal(id, input);
  if (first.outcome !== 'not_found') return first;
  const actors = await ancestorRoute(store, id);
  if (!actors) return first;
  try {
    // Recorded on its own, as from an early progress report; the registration links it and settles
    // the parent, with the branch count it brings.
    await store.create({ id, actors, payload: null });
  } catch (err) {
    if (!(err instanceof DuplicateEnvelopeError)) throw err;
  }
  return store.setFinal(id, input);
}

/**
 * A final report over the body limit is not read, but its envelope id is in the path: the envelope ends
 * `failed` with code result_too_large rather than staying running for ever. The answer is still 413, so the
 * sender knows its report (and the result in it) was not taken.
 */
export function finalTooLarge(deps: GatewayDeps): TooLargeHandler {
  return async (c, { maxBytes }) => {
    const id = checkPathId(c.req.param('id') ?? '');
    const error = `${RESULT_TOO_LARGE}: the final report is larger than the gateway's limit of ${maxBytes} bytes (ASYA_GATEWAY_MAX_BODY_BYTES)`;
    const result = await finalFor(deps.store, id, { status: 'failed', error, result: { code: RESULT_TOO_LARGE, max_bytes: maxBytes } });
    deps.log.warn(`${id}: final report over ${maxBytes} bytes refused; envelope ${result.outcome === 'applied' || result.outcome === 'deferred' ? 'marked failed' : result.outcome === 'ignored' ? 'was already final' : 'is unknown'}`);
    const settled = result.outcome === 'not_found' ? {} : { envelope_status: result.envelope.status };
    return c.json(errorBody(`Request body too large: the limit is ${maxBytes} bytes`, { code: RESULT_TOO_LARGE, ...settled }), 413);
  };
}

export function reportRoutes(routes: Routes, deps: GatewayDeps): void {
  const { store } = deps;
  const succeeded = new SucceededIds();

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

  /** One progress report taken; throws what the single route answers as an error (404 for an unknown id). */
  const progressAnswer = async (id: string, input: ProgressInput): Promise<ProgressAnswer> => {
    // What the store would answer, without it (succeeded-ids.ts).
    if (succeeded.has(id)) return { status: 'ignored', reason: 'envelope is already succeeded', progress_percent: 100 };
    const result = await progressFor(id, input);
    if (result.outcome === 'not_found') throw notFound();
    return result.outcome === 'ignored'
      ? { status: 'ignored', reason: result.reason, progress_percent: result.envelope.progressPercent }
      : { status: 'ok', progress_percent: result.envelope.progressPercent };
  };

  routes.post('/envelopes/:id/progress', 'internal', async (c) => {
    const id = checkPathId(c.req.param('id'));
    return c.json(await progressAnswer(id, progressBody(readJson(c))));
  });

  // Several envelopes' reports in one request (sidecars send what gathered while their last one was on its
  // way): one request's parsing, routing and answer instead of one per report. The store commits them
  // together as it does reports arriving at once.
  routes.post(PROGRESS_BATCH_PATH, 'internal', async (c) => {
    const { reports } = parseRequest(ProgressBatchRequest, readJson(c));
    const outcomes = await Promise.allSettled(
      // async: a bad item rejects its own promise, never the whole map.
      reports.map(async (item) => {
        if (!isPlainObject(item) || typeof item.id !== 'string') throw new HttpError(400, 'Invalid report: expected an object with a string id');
        return progressAnswer(checkPathId(item.id), progressBody(item));
      }),
    );
    const answer: ProgressBatchAnswer = { retry: [], refused: [] };
    outcomes.forEach((outcome, index) => {
      if (outcome.status === 'fulfilled') return;
      const err: unknown = outcome.reason;
      if (err instanceof HttpError && err.status !== 404) answer.refused.push({ index, error: err.message });
      else if (err instanceof InvalidEnvelopeInputError) answer.refused.push({ index, error: err.message });
      else {
        // 404 and the database's absence are what the single route's sender retries; so is the unexpected (a 500).
        if (!(err instanceof HttpError || err instanceof StoreUnavailableError)) deps.log.error(`POST ${PROGRESS_BATCH_PATH}, report ${index}: ${errorText(err)}`);
        answer.retry.push(index);
      }
    });
    return c.json(answer);
  });

  routes.post(
    '/envelopes/:id/final',
    'internal',
    async (c) => {
      const id = checkPathId(c.req.param('id'));
      const result = await finalFor(store, id, finalBody(readJson(c)));
      if (result.outcome === 'not_found') throw notFound();
      if (result.envelope.status === 'succeeded') succeeded.add(id);
      deps.metrics.finalReports.labels({ outcome: result.outcome }).inc();
      // deferred: a fan-out parent's own branch is recorded; it finishes with its children.
      const answer: FinalAnswer =
        result.outcome === 'ignored'
          ? { status: 'ignored', reason: result.reason }
          : { status: 'ok', ...(result.outcome === 'deferred' ? { waiting_for_children: true as const } : {}) };
      return c.json(answer);
    },
    // A final report too large to read still settles its envelope (failed, result_too_large).
    { onTooLarge: finalTooLarge(deps) },
  );

  routes.post('/envelopes/:id/replay', 'internal', async (c) => {
    const id = checkPathId(c.req.param('id'));
    const text = bodyText(c);
    const result = await store.reopen(id, replayBody(text.trim() === '' ? {} : parseJsonBody(text)));
    if (result.outcome === 'not_found') throw notFound();
    if (result.outcome === 'refused') {
      throw new HttpError(409, `Envelope cannot be replayed: ${result.reason}`, { envelope: envelopeJson(result.envelope) });
    }
    return c.json(envelopeJson(result.envelope));
  });

  routes.post('/envelopes', 'internal', async (c) => {
    const child = childBody(readJson(c));
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
      return c.json({ status: 'created', id: child.id } satisfies ChildAnswer, 201);
    }
    const result = await store.registerChild(registration({ ...child, parentId: checkPathId(child.parentId) }));
    if (result.outcome === 'not_found') throw notFound('Parent envelope');
    if (result.outcome === 'ignored') return c.json({ status: 'exists', id: child.id } satisfies ChildAnswer);
    return c.json({ status: 'created', id: child.id } satisfies ChildAnswer, 201);
  });
}
