/**
 * What a runtime answers: always a JSON array. Success elements carry payload and route; an error is a
 * single element with one of three codes (docs/runtimes.md, "Error codes").
 */
import type { JsonObject, JsonValue } from './json.ts';
import type { Route } from './envelope.ts';

export const RUNTIME_ERROR_CODES = ['processing_error', 'msg_parsing_error', 'connection_error'] as const;
export type RuntimeErrorCode = (typeof RUNTIME_ERROR_CODES)[number];

export interface ErrorDetails {
  message?: string;
  type?: string;
  traceback?: string;
  /** The queue a result could not be published to (queue_not_found). */
  queue?: string;
  /** A message that could not be read, byte for byte, when it is small enough to travel in an error. */
  body_base64?: string;
  /** The size of such a message when it is too large to travel. */
  body_bytes?: number;
}

export interface RuntimeSuccess {
  payload?: JsonValue;
  route: Route;
  headers?: JsonObject;
  id?: string;
  parent_id?: string;
}

export interface RuntimeError {
  error: string;
  details?: ErrorDetails;
}

export type RuntimeResult = RuntimeSuccess | RuntimeError;

export function isRuntimeError(result: RuntimeResult): result is RuntimeError {
  return typeof (result as RuntimeError).error === 'string' && (result as RuntimeError).error !== '';
}

export function errorDetails(err: unknown): ErrorDetails {
  if (err instanceof Error) {
    return { message: err.message, type: err.name, traceback: err.stack ?? `${err.name}: ${err.message}` };
  }
  return { message: String(err), type: typeof err, traceback: String(err) };
}

export function errorResponse(code: RuntimeErrorCode, err?: unknown): RuntimeError[] {
  return err === undefined ? [{ error: code }] : [{ error: code, details: errorDetails(err) }];
}
