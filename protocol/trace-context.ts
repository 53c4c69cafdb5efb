/**
 * W3C trace context as envelopes carry it (`headers.traceparent`): read here only to name the trace in log
 * lines. Spans themselves are the tracing SDK's business; nothing here starts or advances one.
 */

// version-traceid-parentid-flags; version ff and all-zero ids are invalid by the spec.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}(?:-.*)?$/;
const ZEROS = /^0+$/;

export interface TraceIds {
  traceId: string;
  /** The span the sender was in when it sent the envelope. */
  spanId: string;
}

export function parseTraceparent(value: unknown): TraceIds | undefined {
  if (typeof value !== 'string') return undefined;
  const m = TRACEPARENT.exec(value.trim().toLowerCase());
  if (!m || m[1] === 'ff' || ZEROS.test(m[2]!) || ZEROS.test(m[3]!)) return undefined;
  // Version 00 has exactly four parts; later versions may append more.
  if (m[1] === '00' && value.trim().length !== 55) return undefined;
  return { traceId: m[2]!, spanId: m[3]! };
}

export const traceIdOf = (traceparent: unknown): string | undefined => parseTraceparent(traceparent)?.traceId;

/**
 * The log fields of a line about one envelope: its id, and its traceparent, which a JSON line turns into
 * `trace_id` when no span is active (protocol/log.ts).
 */
export function envelopeLogFields(envelope: { id?: unknown; headers?: unknown } | undefined): { envelope_id?: string; traceparent?: string } {
  if (!envelope) return {};
  const headers = envelope.headers as Record<string, unknown> | undefined;
  const traceparent = headers && typeof headers === 'object' && typeof headers.traceparent === 'string' ? headers.traceparent : undefined;
  return {
    ...(typeof envelope.id === 'string' ? { envelope_id: envelope.id } : {}),
    ...(traceparent ? { traceparent } : {}),
  };
}
