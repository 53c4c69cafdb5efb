/**
 * The spans of one hop (docs/operations.md, "Tracing"): a consumer span `process <queue>` around the whole
 * delivery, active while the router works so log lines carry its ids; a child per runtime call and per
 * publish. Every envelope the hop sends carries the hop span as its traceparent, so the next hop (or each
 * fan-out child) is its child. error-end's retries also name the failed attempt (RETRY_OF_HEADER), and the
 * retried hop links to it. Nothing here runs while tracing is off: the router asks tracingOn() first.
 */
import { context, createContextKey, SpanKind, trace, type Context, type Link, type Span } from '@opentelemetry/api';
import { isPlainObject, isRuntimeError, type RuntimeResult } from '../protocol/index.ts';
import { scanObjectMembers, type ByteRange } from '../protocol/json-scan.ts';
import { contextOfHeaders, failSpan, headersWithSpan, messagingAttributes, RETRY_OF_HEADER, tracer } from '../telemetry/index.ts';
import type { Delivery } from '../transport/transport.ts';

/** What the hop received as its parent: error-end passes it on as the failed attempt of a retry. */
const RECEIVED_TRACEPARENT = createContextKey('asya.received-traceparent');

interface Received {
  id?: string;
  headers?: Record<string, unknown>;
}

/**
 * Where each member of a delivery's envelope is, scanned once per hop: for the hop span's id and headers,
 * then again for the runtime's body, which is the delivery's own bytes unless the claim check resolved them.
 */
const scanned = new WeakMap<Buffer, ReturnType<typeof scanObjectMembers>>();

function membersOf(text: Buffer): ReturnType<typeof scanObjectMembers> {
  if (scanned.has(text)) return scanned.get(text);
  const found = scanObjectMembers(text);
  scanned.set(text, found);
  return found;
}

/** The headers member of an envelope's bytes, parsed once: the hop span reads it, then the runtime's body is written from it. */
const parsedHeaders = new WeakMap<Buffer, unknown>();

function headersIn(text: Buffer, range: ByteRange | undefined): unknown {
  if (parsedHeaders.has(text)) return parsedHeaders.get(text);
  const headers = memberValue(text, range);
  parsedHeaders.set(text, headers);
  return headers;
}

/** The envelope's id and headers, read without parsing the rest (the router parses the whole envelope once). */
function peek(body: Buffer): Received {
  const top = membersOf(body);
  if (!top) return {};
  const id = memberValue(body, top.members.get('id'));
  const headers = headersIn(body, top.members.get('headers'));
  return { ...(typeof id === 'string' ? { id } : {}), ...(isPlainObject(headers) ? { headers } : {}) };
}

function memberValue(text: Buffer, range: ByteRange | undefined): unknown {
  if (!range) return undefined;
  try {
    return JSON.parse(text.toString('utf8', range.start, range.end));
  } catch {
    return undefined; // the scan passed what JSON.parse refuses (a bad number or escape): the router reports it
  }
}

/** Runs `work` inside the delivery's consumer span; the span ends when the delivery is settled. */
export async function withHopSpan(delivery: Delivery, facts: { actor: string; transportKind: string }, work: () => Promise<void>): Promise<void> {
  const received = peek(delivery.body);
  const parent = contextOfHeaders(received.headers);
  const retryOf = received.headers?.[RETRY_OF_HEADER];
  const links: Link[] = [];
  if (typeof retryOf === 'string') {
    const failed = trace.getSpanContext(contextOfHeaders({ traceparent: retryOf }));
    if (failed) links.push({ context: failed, attributes: { 'asya.link': 'retry_of' } });
  }
  const span = tracer().startSpan(
    `process ${delivery.queue}`,
    {
      kind: SpanKind.CONSUMER,
      links,
      attributes: {
        ...messagingAttributes('process', { transportKind: facts.transportKind, queue: delivery.queue, envelopeId: received.id, actor: facts.actor }),
        'messaging.message.delivery_count': delivery.deliveryCount,
        ...(links.length > 0 ? { 'asya.retry': true } : {}),
      },
    },
    parent,
  );
  const traceparent = received.headers?.traceparent;
  let active: Context = trace.setSpan(parent, span);
  if (typeof traceparent === 'string') active = active.setValue(RECEIVED_TRACEPARENT, traceparent);
  try {
    await context.with(active, work);
  } finally {
    span.end();
  }
}

/** Records on the hop span that the delivery failed (an error envelope was sent, or it goes back to the queue). */
export function hopFailed(code: string, message: string): void {
  const span = trace.getActiveSpan();
  if (span) failSpan(span, code, message);
}

/** The error envelope's code and message, for the hop span. */
export function failureOf(envelope: unknown): { code: string; message: string } {
  const payload = isPlainObject(envelope) && isPlainObject(envelope.payload) ? envelope.payload : {};
  const code = typeof payload.code === 'string' ? payload.code : typeof payload.error === 'string' ? payload.error : 'error';
  return { code, message: typeof payload.error === 'string' ? payload.error : code };
}

/**
 * A runtime call as a child span. The runtime gets the envelope with the runtime span as its traceparent,
 * so a handler that reads `headers.traceparent` continues the trace right under it.
 */
export async function tracedRuntimeCall<B extends Buffer | Buffer[]>(actor: string, body: B, call: (body: B) => Promise<RuntimeResult[]>): Promise<RuntimeResult[]> {
  const span = tracer().startSpan(`runtime ${actor}`, { kind: SpanKind.CLIENT, attributes: { 'asya.actor': actor } });
  try {
    const results = await call(withTraceparent(body, span));
    const failure = results.find(isRuntimeError);
    if (failure) failSpan(span, failure.error, failure.details?.message ?? failure.error);
    return results;
  } catch (err) {
    const failure = (err as { failure?: unknown }).failure;
    failSpan(span, typeof failure === 'string' ? failure : 'error', err instanceof Error ? err.message : String(err));
    throw err;
  } finally {
    span.end();
  }
}

/**
 * The runtime's body with `headers` naming `span`. Only the headers are parsed and written again, spliced in
 * place of the old ones (or added at the end): the payload is neither parsed nor copied into a string. A body
 * the claim check built around a resolved payload ([before, payload, after]) is spliced without its payload:
 * the headers are in `after`. What cannot be spliced goes as it came.
 */
function withTraceparent<B extends Buffer | Buffer[]>(body: B, span: Span): B {
  if (!Array.isArray(body)) return (withHeadersOf(body, span) ?? body) as B;
  if (body.length !== 3) return body;
  const [before, payload, after] = body as [Buffer, Buffer, Buffer];
  const stub = Buffer.concat([before, NULL, after]);
  const spliced = withHeadersOf(stub, span);
  if (!spliced || !spliced.subarray(0, before.length + NULL.length).equals(stub.subarray(0, before.length + NULL.length))) return body;
  return [before, payload, spliced.subarray(before.length + NULL.length)] as B;
}

const NULL = Buffer.from('null');

function withHeadersOf(text: Buffer, span: Span): Buffer | undefined {
  const top = membersOf(text);
  if (!top) return undefined;
  const range = top.members.get('headers');
  if (range) {
    const headers = Buffer.from(JSON.stringify(headersWithSpan(headersIn(text, range), span)));
    return Buffer.concat([text.subarray(0, range.start), headers, text.subarray(range.end)]);
  }
  const close = text.lastIndexOf(0x7d);
  const member = Buffer.from(`${top.members.size > 0 ? ',' : ''}"headers":${JSON.stringify(headersWithSpan(undefined, span))}`);
  return Buffer.concat([text.subarray(0, close), member, text.subarray(close)]);
}

/**
 * A publish as a producer span; returns the envelope to send, carrying the hop span (not the producer span)
 * as its traceparent. `retry` marks error-end's retries, which name the failed attempt for the link.
 */
export async function tracedPublish(
  message: { queue: string; envelope: object },
  facts: { transportKind: string; actor: string; retry: boolean },
  publish: (envelope: object) => Promise<void>,
): Promise<void> {
  const hop = trace.getActiveSpan();
  const envelope = message.envelope as Record<string, unknown>;
  const id = typeof envelope.id === 'string' ? envelope.id : undefined;
  const span = tracer().startSpan(`send ${message.queue}`, {
    kind: SpanKind.PRODUCER,
    attributes: messagingAttributes('send', { transportKind: facts.transportKind, queue: message.queue, envelopeId: id, actor: facts.actor }),
  });
  let outgoing: object = message.envelope;
  if (hop && isPlainObject(envelope) && 'route' in envelope) {
    const headers = headersWithSpan(envelope.headers, hop);
    const failed = context.active().getValue(RECEIVED_TRACEPARENT);
    if (facts.retry && typeof failed === 'string') headers[RETRY_OF_HEADER] = failed;
    else delete headers[RETRY_OF_HEADER];
    outgoing = { ...envelope, headers };
  }
  try {
    await publish(outgoing);
  } catch (err) {
    failSpan(span, 'publish_failed', err instanceof Error ? err.message : String(err));
    throw err;
  } finally {
    span.end();
  }
}
