/**
 * Every error answer is JSON `{"error": "<message>"}` (the original answered plain text). The messages keep
 * the original's words where it had them, so scripts that grep for "Envelope not found" still work.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import { requestProblem, type ErrorAnswer, type ErrorExtras } from '../../protocol/gateway-contract.ts';
import { InvalidEnvelopeInputError, StoreUnavailableError } from '../store/index.ts';
import { PayloadStoreUnavailableError } from '../../payload-store/index.ts';
import { errorText } from '../../protocol/errors.ts';

export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: ContentfulStatusCode,
    message: string,
    readonly extra: ErrorExtras = {},
  ) {
    super(message);
  }
}

export const notFound = (what = 'Envelope') => new HttpError(404, `${what} not found`);

export function errorBody(message: string, extra: ErrorExtras = {}): ErrorAnswer {
  return { error: message, ...extra };
}

/** Maps what handlers throw to a status: bad input 400, database or payload store away 503, anything unexpected 500. */
export function errorResponse(c: Context, err: unknown, onUnexpected: (err: unknown) => void) {
  if (err instanceof HttpError) return c.json(errorBody(err.message, err.extra), err.status);
  if (err instanceof InvalidEnvelopeInputError) return c.json(errorBody(err.message), 400);
  if (err instanceof StoreUnavailableError || err instanceof PayloadStoreUnavailableError) {
    c.header('Retry-After', '1');
    return c.json(errorBody(err.message), 503);
  }
  onUnexpected(err);
  return c.json(errorBody('internal error'), 500);
}

/** A body read with its contract schema (protocol/gateway-contract.ts); a refusal is a 400 naming the field. */
export function parseRequest<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new HttpError(400, requestProblem(parsed.error));
  return parsed.data;
}

/** Anything that is not JSON is the original's "Invalid request body", with the reason. */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') throw new HttpError(400, 'Invalid request body: empty');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new HttpError(400, `Invalid request body: ${errorText(err)}`);
  }
}
