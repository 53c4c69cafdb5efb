/**
 * Reading request bodies under two limits: one body may be at most `maxBytes`, and all bodies in flight
 * (being read, or held while their request is handled) share `budgetBytes`, so any mix of requests keeps the
 * gateway's memory bounded. A declared Content-Length is reserved whole before a byte is read; a chunked
 * body reserves as its chunks arrive. A request the budget cannot take is refused with 503 and Retry-After.
 *
 * This runs after the token check (access.ts), so an unauthorised upload is refused unread. The body is
 * read straight from Node's request (no fetch Request is built for it) and kept as text for the handler.
 * A refused body is left to @hono/node-server, which discards what still arrives (no memory kept) so the
 * caller, which may still be writing, can read the 503 or 413; cutting the connection would make most
 * clients report a broken pipe instead.
 */
import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import type { GatewayMetrics } from '../metrics.ts';
import type { z } from 'zod';
import { errorBody, parseJsonBody, parseRequest } from './errors.ts';
import { requestHeader } from './request-headers.ts';

declare module 'hono' {
  interface ContextVariableMap {
    body: string;
  }
}

/** Bytes of request bodies in flight, shared by every request of one gateway. */
export class BodyBudget {
  private used = 0;
  constructor(
    readonly limitBytes: number,
    private readonly metrics?: GatewayMetrics,
  ) {}

  tryReserve(bytes: number): boolean {
    if (this.used + bytes > this.limitBytes) return false;
    this.used += bytes;
    this.metrics?.bodyBytesInFlight.set(this.used);
    return true;
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
    this.metrics?.bodyBytesInFlight.set(this.used);
  }

  get inUse(): number {
    return this.used;
  }
}

export interface BodyLimits {
  maxBytes: number;
  budget: BodyBudget;
  metrics: GatewayMetrics;
}

/** Answers a body over `maxBytes`; a route may record something first (a too-large final result). */
export type TooLargeHandler = (c: Context, limits: BodyLimits) => Response | Promise<Response>;

export const tooLargeResponse: TooLargeHandler = (c, { maxBytes }) => c.json(errorBody(`Request body too large: the limit is ${maxBytes} bytes`), 413);

function busyResponse(c: Context, { budget, metrics }: BodyLimits): Response {
  metrics.bodiesRefused.inc({ reason: 'budget' });
  c.header('Retry-After', '1');
  return c.json(errorBody(`Gateway busy: request bodies in flight already use the budget of ${budget.limitBytes} bytes (ASYA_GATEWAY_BODY_BUDGET_BYTES); retry shortly`), 503);
}

function tooLarge(c: Context, limits: BodyLimits, onTooLarge: TooLargeHandler) {
  limits.metrics.bodiesRefused.inc({ reason: 'too_large' });
  return onTooLarge(c, limits);
}

type ReadOutcome = { kind: 'ok'; text: string } | { kind: 'too_large' } | { kind: 'busy' } | { kind: 'aborted' };

function incomingOf(c: Context): IncomingMessage | undefined {
  const env: unknown = c.env;
  return typeof env === 'object' && env !== null && 'incoming' in env ? (env as { incoming: IncomingMessage }).incoming : undefined;
}

/** Chunks from Node's request, or from the fetch body when the app runs without a server (app.request()). */
async function* chunksOf(c: Context): AsyncGenerator<Uint8Array> {
  const incoming = incomingOf(c);
  if (!incoming) {
    const body = c.req.raw.body;
    if (body) yield* body;
    return;
  }
  // Pulled one chunk at a time (not `for await`, whose early exit would destroy the socket before the
  // refusal is written).
  const queue: Buffer[] = [];
  let done = false;
  let failed: Error | undefined;
  let wake: (() => void) | undefined;
  const onData = (chunk: Buffer) => {
    queue.push(chunk);
    incoming.pause();
    wake?.();
  };
  const onEnd = () => ((done = true), wake?.());
  const onClose = () => {
    if (!incoming.readableEnded) failed ??= new Error('client closed the connection');
    done = true;
    wake?.();
  };
  const onError = (err: Error) => ((failed = err), (done = true), wake?.());
  incoming.on('data', onData).on('end', onEnd).on('close', onClose).on('error', onError);
  try {
    for (;;) {
      const chunk = queue.shift();
      if (chunk) {
        yield chunk;
        continue;
      }
      if (failed) throw failed;
      if (done) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
        incoming.resume();
      });
      wake = undefined;
    }
  } finally {
    incoming.off('data', onData).off('end', onEnd).off('close', onClose).off('error', onError);
  }
}

async function read(c: Context, limits: BodyLimits, declared: number | undefined, reserve: (n: number) => boolean): Promise<ReadOutcome> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of chunksOf(c)) {
      size += chunk.byteLength;
      if (size > limits.maxBytes) return { kind: 'too_large' };
      if (declared === undefined && !reserve(chunk.byteLength)) return { kind: 'busy' };
      chunks.push(chunk);
    }
  } catch {
    return { kind: 'aborted' };
  }
  return { kind: 'ok', text: Buffer.concat(chunks, size).toString('utf8') };
}

export function readBody(limits: BodyLimits, onTooLarge: TooLargeHandler = tooLargeResponse): MiddlewareHandler {
  return async (c, next) => {
    const header = requestHeader(c, 'content-length');
    const declared = header !== undefined && requestHeader(c, 'transfer-encoding') === undefined ? Number.parseInt(header, 10) : undefined;
    if (declared !== undefined && declared > limits.maxBytes) return tooLarge(c, limits, onTooLarge);
    let held = 0;
    const reserve = (bytes: number) => {
      if (!limits.budget.tryReserve(bytes)) return false;
      held += bytes;
      return true;
    };
    try {
      if (declared !== undefined && !reserve(declared)) return busyResponse(c, limits);
      const outcome = await read(c, limits, declared, reserve);
      if (outcome.kind === 'too_large') return tooLarge(c, limits, onTooLarge);
      if (outcome.kind === 'busy') return busyResponse(c, limits);
      // Nobody is listening for an answer; 400 only keeps the logs and metrics honest.
      if (outcome.kind === 'aborted') return c.json(errorBody('Request body was cut off'), 400);
      c.set('body', outcome.text);
      await next();
    } finally {
      limits.budget.release(held);
    }
  };
}

/** The request's body as text; routes that take a body are registered behind readBody. */
export function bodyText(c: Context): string {
  return c.get('body') ?? '';
}

/** The body as JSON (a 400 when it is not). */
export function readJson(c: Context): unknown {
  return parseJsonBody(bodyText(c));
}

/** The body read with its contract schema (protocol/gateway-contract.ts). */
export function readRequest<S extends z.ZodType>(c: Context, schema: S): z.output<S> {
  return parseRequest(schema, readJson(c));
}
