/**
 * The spans of one hop (docs/operations.md, "Tracing"): a consumer span `process <queue>` around the whole
 * delivery; a child per runtime call and per publish. Every envelope the hop sends carries the hop span as
 * its traceparent, so the next hop (or each fan-out child) is its child. error-end's retries also name the
 * failed attempt (RETRY_OF_HEADER), and the retried hop links to it. Nothing here runs while tracing is off:
 * the router asks tracingOn() first.
 *
 * The hop's span is handed along explicitly (a HopTrace), never made the active span: activating it would
 * switch on Node's async context tracking, which every promise of the process then pays for (about a third
 * of what tracing cost a hop). Log lines name the hop's span through their fields instead (hopLogFields).
 */
import { SpanKind, trace, TraceFlags, type Context, type Link, type Span } from '@opentelemetry/api';
import { isPlainObject, isRuntimeError, LOG_SPAN, type Logger, type LogFields, type RuntimeResult } from '../protocol/index.ts';
import { scanObjectMembers, type ByteRange } from '../protocol/json-scan.ts';
import { contextOfHeaders, failSpan, headersWithSpan, messagingAttributes, RETRY_OF_HEADER, tracer, tracingFollowsParent } from '../telemetry/index.ts';
import type { Delivery } from '../transport/transport.ts';

/** One traced hop: its span, the context its children start in, and what it received as its parent. */
export interface HopTrace {
  readonly span: Span;
  readonly context: Context;
  /** error-end passes it on as the failed attempt of a retry. */
  readonly receivedTraceparent?: string;
}

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

/**
 * Starts the delivery's consumer span; the router ends it once the delivery is settled. Undefined when the
 * envelope's trace is not sampled and the sampler follows the caller: nothing under it would be recorded, so
 * the hop makes no spans at all and its envelopes pass the traceparent on as it came (same trace id, still
 * unsampled), which keeps an unsampled hop as cheap as an untraced one.
 */
export function startHopTrace(delivery: Delivery, facts: { actor: string; transportKind: string }): HopTrace | undefined {
  const received = peek(delivery.body);
  const parent = contextOfHeaders(received.headers);
  const parentSpan = trace.getSpanContext(parent);
  if (parentSpan && (parentSpan.traceFlags & TraceFlags.SAMPLED) === 0 && tracingFollowsParent()) return undefined;
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
  return { span, context: trace.setSpan(parent, span), ...(typeof traceparent === 'string' ? { receivedTraceparent: traceparent } : {}) };
}

/** Records on the hop span that the delivery failed (an error envelope was sent, or it goes back to the queue). */
export function hopFailed(hop: HopTrace, code: string, message: string): void {
  failSpan(hop.span, code, message);
}

/** `log`, with every line put in the hop's span (protocol/log.ts, LOG_SPAN) over the line's own fields. */
export function hopLogger(log: Logger, hop: HopTrace): Logger {
  const { traceId, spanId } = hop.span.spanContext();
  const inSpan = (fields?: LogFields): LogFields => ({ ...fields, [LOG_SPAN]: { traceId, spanId } });
  return {
    debug: (message, fields) => log.debug(message, inSpan(fields)),
    info: (message, fields) => log.info(message, inSpan(fields)),
    warn: (message, fields) => log.warn(message, inSpan(fields)),
    error: (message, fields) => log.error(message, inSpan(fields)),
  };
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
export async function tracedRuntimeCall<B extends Buffer | Buffer[]>(
  hop: HopTrace,
  actor: string,
  body: B,
  call: (body: B) => Promise<RuntimeResult[]>,
): Promise<RuntimeResult[]> {
  const span = tracer().startSpan(`runtime ${actor}`, { kind: SpanKind.CLIENT, attributes: { 'asya.actor': actor } }, hop.context);
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
  hop: HopTrace,
  message: { queue: string; envelope: object },
  facts: { transportKind: string; actor: string; retry: boolean },
  publish: (envelope: object) => Promise<void>,
): Promise<void> {
  const envelope = message.envelope as Record<string, unknown>;
  const id = typeof envelope.id === 'string' ? envelope.id : undefined;
  const span = tracer().startSpan(
    `send ${message.queue}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: messagingAttributes('send', { transportKind: facts.transportKind, queue: message.queue, envelopeId: id, actor: facts.actor }),
    },
    hop.context,
  );
  let outgoing: object = message.envelope;
  if (isPlainObject(envelope) && 'route' in envelope) {
    const headers = headersWithSpan(envelope.headers, hop.span);
    const failed = hop.receivedTraceparent;
    if (facts.retry && failed !== undefined) headers[RETRY_OF_HEADER] = failed;
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
