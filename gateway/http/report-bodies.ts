/**
 * The bodies sidecars and end actors send (docs/gateway.md, "HTTP API"), read strictly enough to refuse nonsense
 * with a 400 that names the field, and loosely enough that the original Go sidecar's reports still fit.
 */
import { isPlainObject, type JsonObject, type JsonValue } from '../../protocol/json.ts';
import type { ActorState, FinalInput, ProgressInput, RegisterChildInput, ReopenInput } from '../store/index.ts';
import { HttpError } from './errors.ts';

const STATES: readonly ActorState[] = ['received', 'processing', 'completed'];

function object(body: unknown): Record<string, unknown> {
  if (!isPlainObject(body)) throw new HttpError(400, 'Invalid request body: expected a JSON object');
  return body;
}

function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new HttpError(400, `Invalid request body: ${key} must be a string`);
  return v;
}

function optionalIndex(body: Record<string, unknown>, key: string): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw new HttpError(400, `Invalid request body: ${key} must be a non-negative integer`);
  return v as number;
}

function optionalActors(body: Record<string, unknown>, key = 'actors'): string[] | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((a) => typeof a === 'string' && a.length > 0)) {
    throw new HttpError(400, `Invalid request body: ${key} must be a list of actor names`);
  }
  return v as string[];
}

function optionalObject(body: Record<string, unknown>, key: string): JsonObject | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (!isPlainObject(v)) throw new HttpError(400, `Invalid request body: ${key} must be an object`);
  return v as JsonObject;
}

export function progressBody(raw: unknown): ProgressInput {
  const body = object(raw);
  const status = body.status;
  if (status !== undefined && status !== null && !STATES.includes(status as ActorState)) {
    throw new HttpError(400, `Invalid status: must be one of ${STATES.join(', ')}`);
  }
  const input: ProgressInput = {};
  if (status) input.actorState = status as ActorState;
  const idx = optionalIndex(body, 'current_actor_idx');
  if (idx !== undefined) input.currentActorIdx = idx;
  const actors = optionalActors(body);
  // An empty list means "use the stored route", as the original read it.
  if (actors && actors.length > 0) input.actors = actors;
  const message = optionalString(body, 'message');
  if (message) input.message = message;
  return input;
}

/** The original's messages and its failure result (docs/gateway.md, "Results and refused finals"), which clients and dashboards match. */
export function finalBody(raw: unknown): FinalInput {
  const body = object(raw);
  if (body.status !== 'succeeded' && body.status !== 'failed') {
    throw new HttpError(400, "Invalid status: must be 'succeeded' or 'failed'");
  }
  const metadata = optionalObject(body, 'metadata');
  const result = body.result as JsonValue | undefined;
  if (body.status === 'succeeded') {
    const s3 = typeof metadata?.s3_uri === 'string' ? metadata.s3_uri : undefined;
    return {
      status: 'succeeded',
      ...(result !== undefined ? { result } : {}),
      message: s3 ? `Envelope completed successfully, results stored at ${s3}` : 'Envelope completed successfully',
    };
  }
  // Text columns cannot hold NUL; a final must still land, so a NUL in the error text becomes U+FFFD.
  const error = storableText(optionalString(body, 'error'));
  const actor = storableText(optionalString(body, 'current_actor_name'));
  const idx = optionalIndex(body, 'current_actor_idx');
  const actors = optionalActors(body);
  const message = error ? (actor ? `Envelope failed at actor '${actor}': ${error}` : `Envelope failed: ${error}`) : 'Envelope failed';
  const details = body.error_details as JsonValue | undefined;
  const failure: JsonValue | undefined =
    details !== undefined && details !== null
      ? {
          error: error ?? null,
          details,
          ...(actor ? { failed_actor: actor } : {}),
          ...(idx !== undefined ? { failed_actor_idx: idx } : {}),
          ...(actors ? { route: actors } : {}),
        }
      : result;
  return { status: 'failed', ...(error ? { error } : {}), ...(failure !== undefined ? { result: failure } : {}), message };
}

function storableText(text: string | undefined): string | undefined {
  return text?.replaceAll('\u0000', '\uFFFD');
}

export interface ChildBody {
  id: string;
  parentId?: string;
  actors: string[];
  current?: number;
  index?: number;
  count?: number;
  payload?: JsonValue;
  headers?: JsonObject;
}

export function childBody(raw: unknown): ChildBody {
  const body = object(raw);
  const id = body.id;
  if (typeof id !== 'string' || id === '') throw new HttpError(400, 'Missing required field: id');
  const actors = optionalActors(body);
  if (!actors || actors.length === 0) throw new HttpError(400, 'Missing required field: actors');
  const parentId = optionalString(body, 'parent_id') || undefined;
  const child: ChildBody = { id, actors, ...(parentId ? { parentId } : {}) };
  const current = optionalIndex(body, 'current');
  const index = optionalIndex(body, 'index');
  const count = optionalIndex(body, 'count');
  const headers = optionalObject(body, 'headers');
  if (current !== undefined) child.current = current;
  if (index !== undefined) child.index = index;
  if (count !== undefined) child.count = count;
  if (body.payload !== undefined) child.payload = body.payload as JsonValue;
  if (headers) child.headers = headers;
  return child;
}

/** Old sidecars send no index; their ids are `<parent>-<n>`, which says it. */
export function registration(child: ChildBody & { parentId: string }): RegisterChildInput {
  const suffix = child.id.startsWith(`${child.parentId}-`) ? child.id.slice(child.parentId.length + 1) : '';
  const index = child.index ?? (/^\d{1,9}$/.test(suffix) ? Number(suffix) : undefined);
  if (index === undefined) throw new HttpError(400, 'Missing required field: index (the child id does not end in -<index>)');
  return {
    id: child.id,
    parentId: child.parentId,
    index,
    actors: child.actors,
    ...(child.count !== undefined ? { fanoutSize: child.count } : {}),
    ...(child.current !== undefined ? { routeCurrent: child.current } : {}),
    ...(child.payload !== undefined ? { payload: child.payload } : {}),
    ...(child.headers ? { headers: child.headers } : {}),
  };
}

/** POST /envelopes/{id}/replay: `{"reason"?, "timeout_seconds"?}`, both optional (an empty body is fine). */
export function replayBody(raw: unknown): ReopenInput {
  const body = object(raw);
  const input: ReopenInput = {};
  const reason = optionalString(body, 'reason');
  if (reason) input.reason = reason;
  const timeout = optionalIndex(body, 'timeout_seconds');
  if (timeout) input.timeoutSeconds = timeout;
  return input;
}
