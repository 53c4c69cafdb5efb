/**
 * The envelope error-end receives. Keys match the original (`error`, `details`, `original_payload`, the
 * original route with `current` at the failing actor); we add `code`, a stable machine-readable class that
 * error-end's retry policy reads, and we keep headers (the trace and the retry count), `route.metadata` and
 * `deadline`, so that error-end can rebuild the envelope the failed actor received and retry it.
 */
import type { Envelope } from './envelope.ts';
import type { JsonObject, JsonValue } from './json.ts';
import type { ErrorDetails } from './runtime-response.ts';

export const ERROR_CODES = [
  'processing_error',
  'msg_parsing_error',
  'connection_error',
  'parse_error',
  'validation_error',
  'route_mismatch',
  'timeout',
  'deadline_exceeded',
  'runtime_unavailable',
  'invalid_response',
  'payload_too_large',
  'nesting_too_deep',
  'queue_not_found',
  'payload_unavailable',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorPayload {
  error: string;
  code: ErrorCode;
  details?: ErrorDetails;
  original_payload?: JsonValue;
  /** The actor whose step failed; absent when the message could not be parsed at all. */
  failed_actor?: string;
}

export interface ErrorEnvelope {
  id: string;
  parent_id?: string;
  route: { actors: string[]; current: number; metadata?: JsonObject };
  headers?: JsonObject;
  payload: ErrorPayload;
  deadline?: string;
}

export function buildErrorEnvelope(
  original: Partial<Envelope> | undefined,
  error: { message: string; code: ErrorCode; details?: ErrorDetails; actor?: string },
  errorEndActor = 'error-end',
): ErrorEnvelope {
  const route = original?.route && Array.isArray(original.route.actors)
    ? {
        actors: original.route.actors,
        current: original.route.current ?? 0,
        ...(original.route.metadata ? { metadata: original.route.metadata } : {}),
      }
    : { actors: [errorEndActor], current: 0 };
  const payload: ErrorPayload = { error: error.message, code: error.code };
  if (error.details) payload.details = error.details;
  if (original && 'payload' in original) payload.original_payload = original.payload as JsonValue;
  if (error.actor) payload.failed_actor = error.actor;
  const envelope: ErrorEnvelope = { id: original?.id ?? '', route, payload };
  if (original?.parent_id) envelope.parent_id = original.parent_id;
  if (original?.headers) envelope.headers = original.headers;
  if (typeof original?.deadline === 'string') envelope.deadline = original.deadline;
  return envelope;
}
