/**
 * The crew's spans: `happy-end` and `error-end`, one per handler call, children of the end sidecar's runtime
 * call (whose traceparent the envelope carries). error-end's span says what it decided: a retry (with the
 * attempt) or a dead letter, which is an error with the failure's code.
 */
import { SpanKind, type Span } from '@opentelemetry/api';
import { isPlainObject } from '../protocol/index.ts';
import { contextOfHeaders, failSpan, tracer, tracingOn } from '../telemetry/index.ts';

export async function traceCrewCall<T extends { payload: Record<string, unknown> }>(
  role: string,
  envelope: unknown,
  work: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  if (!tracingOn()) return work(undefined);
  const headers = isPlainObject(envelope) ? envelope.headers : undefined;
  const id = isPlainObject(envelope) && typeof envelope.id === 'string' ? envelope.id : undefined;
  const span = tracer().startSpan(role, { kind: SpanKind.INTERNAL, attributes: { 'asya.actor': role, ...(id ? { 'asya.envelope.id': id } : {}) } }, contextOfHeaders(headers));
  try {
    // Handed to the work rather than made active: see sidecar/hop-trace.ts for why nothing is made active.
    const answer = await work(span);
    const retrying = answer.payload.retrying;
    if (isPlainObject(retrying)) {
      span.setAttributes({ 'asya.retry.actor': String(retrying.actor), 'asya.retry.attempt': Number(retrying.attempt), 'asya.retry.delay_ms': Number(retrying.delay_ms) });
    }
    return answer;
  } catch (err) {
    failSpan(span, err instanceof Error ? err.name : 'error', err instanceof Error ? err.message : String(err));
    throw err;
  } finally {
    span.end();
  }
}

/** On the crew span (none while tracing is off): the envelope was dead-lettered with this failure. */
export function deadLettered(span: Span | undefined, code: string, error: string, attempts: number): void {
  if (!span) return;
  span.setAttribute('asya.attempts', attempts);
  failSpan(span, code, error);
}
