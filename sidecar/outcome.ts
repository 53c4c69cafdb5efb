/**
 * Pure routing decisions: given an input envelope and what the runtime answered, which envelopes go to which
 * queues. No I/O here, so every rule of docs/sidecar.md, "Routing" (and our fixes), is unit-tested directly.
 */
import {
  buildErrorEnvelope,
  currentActor,
  isPlainObject,
  isRuntimeError,
  queueName,
  type Envelope,
  type ErrorCode,
  type ErrorDetails,
  type RuntimeResult,
  type RuntimeSuccess,
} from '../protocol/index.ts';
import type { ChildRequest, Filled } from '../protocol/gateway-contract.ts';
import { withFanOutLevel } from '../protocol/fan-in.ts';

export interface OutboundMessage {
  queue: string;
  envelope: object;
  kind: 'routing' | 'happy_end' | 'error_end' | 'dlq';
}

/** The registration of a fan-out child (POST /envelopes), in the gateway contract's fields. */
export type FanoutChild = Filled<ChildRequest, 'parent_id' | 'current' | 'index' | 'count'>;

export interface Ends {
  happyEnd: string;
  errorEnd: string;
}

export function errorMessage(
  input: Partial<Envelope> | undefined,
  error: { message: string; code: ErrorCode; details?: ErrorDetails; actor?: string },
  ends: Ends,
): OutboundMessage {
  return {
    queue: queueName(ends.errorEnd),
    envelope: buildErrorEnvelope(input, error, ends.errorEnd),
    kind: 'error_end',
  };
}

/** Where the runtime's results go. Returns the messages to publish and the fan-out children to register. */
export function routeResults(
  input: Envelope,
  results: RuntimeResult[],
  actor: string,
  ends: Ends,
): { messages: OutboundMessage[]; children: FanoutChild[] } {
  const failure = results.find(isRuntimeError);
  if (failure) {
    const code = (['processing_error', 'msg_parsing_error', 'connection_error'] as const).find((c) => c === failure.error) ?? 'processing_error';
    return { messages: [errorMessage(input, { message: failure.error, code, details: failure.details, actor }, ends)], children: [] };
  }
  if (results.length === 0) {
    return { messages: [{ queue: queueName(ends.happyEnd), envelope: input, kind: 'happy_end' }], children: [] };
  }
  const successes = results as RuntimeSuccess[];
  const bad = successes.findIndex((r) => !isRoute(r.route));
  if (bad >= 0) {
    const details = { message: `result ${bad} has no valid route {actors: string[], current: integer}`, type: 'InvalidResponse' };
    return { messages: [errorMessage(input, { message: 'invalid_response', code: 'invalid_response', details, actor }, ends)], children: [] };
  }
  const fanout = successes.length > 1;
  const children: FanoutChild[] = [];
  const messages = successes.map((result, index): OutboundMessage => {
    // Every fan-out child gets a fresh id derived from its parent; an id fans out at most once along its
    // lineage, so ids stay unique under nested fan-out (the original reused ids and collided).
    const id = fanout ? `${input.id}-${index}` : input.id;
    const envelope: Record<string, unknown> = { id };
    const parentId = fanout ? input.id : input.parent_id;
    if (parentId) envelope.parent_id = parentId;
    envelope.route = result.route;
    const headers = isPlainObject(result.headers) ? result.headers : input.headers;
    // A fan-out child carries its place in the fan-out, for a fan-in that has no gateway to ask.
    if (fanout) envelope.headers = withFanOutLevel(headers, { parent_id: input.id, index, size: successes.length });
    else if (headers) envelope.headers = headers;
    envelope.payload = result.payload ?? null;
    if (input.deadline) envelope.deadline = input.deadline;
    if (fanout) {
      children.push({ id, parent_id: input.id, actors: result.route.actors, current: result.route.current, index, count: successes.length });
    }
    const next = currentActor(result.route);
    return next
      ? { queue: queueName(next), envelope, kind: 'routing' }
      : { queue: queueName(ends.happyEnd), envelope, kind: 'happy_end' };
  });
  return { messages, children };
}

function isRoute(route: unknown): route is Envelope['route'] {
  return (
    isPlainObject(route) &&
    Array.isArray(route.actors) &&
    route.actors.every((a) => typeof a === 'string') &&
    Number.isInteger(route.current)
  );
}
