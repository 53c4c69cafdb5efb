/**
 * The original's JSON for an envelope (GET /envelopes/{id}) and for one update (SSE), as docs/gateway.md
 * describes them ("HTTP API", "SSE"), in the shapes protocol/gateway-contract.ts declares. Fields the original omitted when empty are
 * omitted here too; fields it never had (tool_name, owner, cancelled, fanout_index) are additions a client
 * may ignore. Replayed and live updates carry the same fields, which the original's did not.
 */
import { NO_DEADLINE, type EnvelopeUpdate, type EnvelopeView } from '../../protocol/gateway-contract.ts';
import type { EnvelopeEvent, EnvelopeRecord } from '../store/index.ts';

/** RFC 3339 as Go prints it: no fractional part when it is zero. */
export function rfc3339(date: Date): string {
  return date.toISOString().replace('.000Z', 'Z');
}

export function envelopeJson(e: EnvelopeRecord): EnvelopeView {
  const done = e.status === 'succeeded' ? e.totalActors : Math.min(e.currentActorIdx, e.totalActors);
  return {
    id: e.id,
    ...(e.parentId ? { parent_id: e.parentId } : {}),
    status: e.status,
    route: { actors: e.routeActors, current: e.routeCurrent, ...(e.routeMetadata ? { metadata: e.routeMetadata } : {}) },
    ...(e.headers ? { headers: e.headers } : {}),
    payload: e.payload,
    ...(e.result !== null ? { result: e.result } : {}),
    ...(e.error ? { error: e.error } : {}),
    ...(e.timeoutSeconds ? { timeout_seconds: e.timeoutSeconds } : {}),
    deadline: e.deadline ? rfc3339(e.deadline) : NO_DEADLINE,
    progress_percent: e.progressPercent,
    current_actor_idx: e.currentActorIdx,
    ...(e.currentActorName ? { current_actor_name: e.currentActorName } : {}),
    ...(e.message ? { message: e.message } : {}),
    // The original never counted these; the index of the actor at work is how many are behind it.
    actors_completed: done,
    total_actors: e.totalActors,
    created_at: rfc3339(e.createdAt),
    updated_at: rfc3339(e.updatedAt),
    ...(e.toolName ? { tool_name: e.toolName } : {}),
    ...(e.owner ? { owner: e.owner } : {}),
    ...(e.idempotencyKey ? { idempotency_key: e.idempotencyKey } : {}),
    ...(e.cancelled ? { cancelled: true } : {}),
    ...(e.fanoutIndex !== null ? { fanout_index: e.fanoutIndex } : {}),
  };
}

export function updateJson(e: EnvelopeEvent): EnvelopeUpdate {
  return {
    id: e.envelopeId,
    status: e.status,
    ...(e.message ? { message: e.message } : {}),
    ...(e.result !== null ? { result: e.result } : {}),
    ...(e.error ? { error: e.error } : {}),
    ...(e.progressPercent !== null ? { progress_percent: e.progressPercent } : {}),
    ...(e.actor ? { actor: e.actor } : {}),
    ...(e.actors ? { actors: e.actors } : {}),
    ...(e.currentActorIdx !== null ? { current_actor_idx: e.currentActorIdx } : {}),
    ...(e.envelopeState ? { envelope_state: e.envelopeState } : {}),
    ...(e.late ? { late: true } : {}),
    timestamp: rfc3339(e.timestamp),
  };
}
