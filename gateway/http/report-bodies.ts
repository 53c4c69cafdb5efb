/**
 * The bodies sidecars and end actors send (docs/gateway.md, "HTTP API"), read with their contract schemas
 * (protocol/gateway-contract.ts: strict enough to refuse nonsense with a 400 that names the field, loose
 * enough that the original Go sidecar's reports still fit), and turned into what the store takes.
 */
import { ChildRequest, FinalRequest, ProgressRequest, ReplayRequest } from '../../protocol/gateway-contract.ts';
import type { JsonObject, JsonValue } from '../../protocol/json.ts';
import type { FinalInput, ProgressInput, RegisterChildInput, ReopenInput } from '../store/index.ts';
import { HttpError, parseRequest } from './errors.ts';

export function progressBody(raw: unknown): ProgressInput {
  const body = parseRequest(ProgressRequest, raw);
  const input: ProgressInput = {};
  if (body.status) input.actorState = body.status;
  if (body.current_actor_idx !== undefined && body.current_actor_idx !== null) input.currentActorIdx = body.current_actor_idx;
  // An empty list means "use the stored route", as the original read it.
  if (body.actors && body.actors.length > 0) input.actors = body.actors;
  if (body.message) input.message = body.message;
  return input;
}

/** The original's messages and its failure result (docs/gateway.md, "Results and refused finals"), which clients and dashboards match. */
export function finalBody(raw: unknown): FinalInput {
  const body = parseRequest(FinalRequest, raw);
  const { result } = body;
  if (body.status === 'succeeded') {
    const s3 = typeof body.metadata?.s3_uri === 'string' ? body.metadata.s3_uri : undefined;
    return {
      status: 'succeeded',
      ...(result !== undefined ? { result } : {}),
      message: s3 ? `Envelope completed successfully, results stored at ${s3}` : 'Envelope completed successfully',
    };
  }
  // Text columns cannot hold NUL; a final must still land, so a NUL in the error text becomes U+FFFD.
  const error = storableText(body.error);
  const actor = storableText(body.current_actor_name);
  const idx = body.current_actor_idx ?? undefined;
  const actors = body.actors ?? undefined;
  const message = error ? (actor ? `Envelope failed at actor '${actor}': ${error}` : `Envelope failed: ${error}`) : 'Envelope failed';
  const details = body.error_details;
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

function storableText(text: string | null | undefined): string | undefined {
  return text?.replaceAll('\u0000', '\uFFFD') ?? undefined;
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
  const body = parseRequest(ChildRequest, raw);
  const child: ChildBody = { id: body.id, actors: body.actors, ...(body.parent_id ? { parentId: body.parent_id } : {}) };
  if (body.current !== undefined && body.current !== null) child.current = body.current;
  if (body.index !== undefined && body.index !== null) child.index = body.index;
  if (body.count !== undefined && body.count !== null) child.count = body.count;
  if (body.payload !== undefined) child.payload = body.payload;
  if (body.headers) child.headers = body.headers;
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
  const body = parseRequest(ReplayRequest, raw);
  const input: ReopenInput = {};
  if (body.reason) input.reason = body.reason;
  if (body.timeout_seconds) input.timeoutSeconds = body.timeout_seconds;
  return input;
}
