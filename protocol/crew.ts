/**
 * The contract between a crew handler (happy-end, error-end) and the sidecar in end-actor mode, and the
 * headers and records error-end's retries travel with. Shared by sidecar/, crew/ and the `asya dlq` command.
 *
 * A crew handler runs in envelope mode; the first element of its answer may carry a payload with
 * - `final_reported: true`: the handler took care of the final status (it reported it, or there is none yet
 *   because a retry was scheduled); the sidecar must not report one;
 * - `publish: [{queue, envelope, delay_ms?}]`: messages the sidecar publishes, broker-confirmed, before it
 *   acks the input. Only `asya-` queues, and never the end actor's own queue.
 * A handler that returns `{}` (the original Python crew) leaves the final report to the sidecar, as before.
 */
import { isPlainObject, type JsonObject, type JsonValue } from './json.ts';
import { ERROR_END, FAN_IN_ACTOR, HAPPY_END, QUEUE_PREFIX } from './queues.ts';
import type { ErrorDetails } from './runtime-response.ts';

export type CrewRole = typeof HAPPY_END | typeof ERROR_END | typeof FAN_IN_ACTOR;
/**
 * The crew's actors, listed once: `asya crew`, `asya dev` and the platform's crew chart all take them from
 * here. fan-in is a route step, not an end, but runs the same way: a crew handler behind an end-actor sidecar.
 */
export const CREW_ROLES: readonly CrewRole[] = [HAPPY_END, ERROR_END, FAN_IN_ACTOR];

/** `{ "<actor>": <attempts so far> }`: per actor, so a later actor does not inherit an earlier one's count. */
export const ATTEMPTS_HEADER = 'x-asya-attempts';
/** The failing actor's spec.retry, attached by its sidecar to the error envelope (from ASYA_RETRY_POLICY). */
export const RETRY_POLICY_HEADER = 'x-asya-retry-policy';
/** How often `asya dlq replay` sent this envelope back; keeps error-end's once-only markers per generation. */
export const REPLAYS_HEADER = 'x-asya-replays';
/**
 * Messages a crew sidecar handles at once unless ASYA_CONCURRENCY says otherwise (`asya crew`, `asya dev`,
 * `asya synth`). The crew's work is storage and one HTTP call, so what it finishes per second is this number
 * over the gateway's answer time: one at a time capped a whole pipeline at a few dozen finals a second, and
 * 16 at about 200 a second on a loaded gateway (bench/e2e: happy-end's queue grew while the crew's CPU was
 * idle; with 48 it stayed under 5, docs/performance.md). Its once-only markers are safe under concurrency
 * (crew/once.ts).
 */
export const CREW_CONCURRENCY = 48;
/** Where error-end puts what it gives up on. */
export const DLQ_QUEUE = 'asya-dlq';
/**
 * `details.type` of a crew handler error meaning "the gateway is not available (unreachable, 5xx, 408, 429),
 * try later": the sidecar holds such a message and never counts the wait toward dead-lettering, as it does
 * when its own final report meets an unavailable gateway (sidecar/gateway-hold.ts).
 */
export const GATEWAY_UNAVAILABLE = 'GatewayUnavailable';

export interface EndActorPublish {
  queue: string;
  envelope: JsonObject;
  delay_ms?: number;
}

export interface EndActorResponse {
  finalReported: boolean;
  publish: EndActorPublish[];
  /** The rest of the handler's payload (e.g. `storage_uri`): reported as metadata when the sidecar reports. */
  metadata?: JsonObject;
}

/**
 * Reads what a crew handler answered. `ownQueue` is the end actor's queue, which it must never feed: an
 * error-end that sends to itself is the loop the original had.
 */
export function readEndActorResponse(handlerPayload: unknown, ownQueue: string): EndActorResponse | { error: string } {
  if (!isPlainObject(handlerPayload)) return { finalReported: false, publish: [] };
  const { final_reported: finalReported, publish: rawPublish, ...rest } = handlerPayload;
  if (finalReported !== undefined && typeof finalReported !== 'boolean') return { error: 'final_reported must be a boolean' };
  if (rawPublish !== undefined && !Array.isArray(rawPublish)) return { error: 'publish must be a list of {queue, envelope, delay_ms?}' };
  const publish: EndActorPublish[] = [];
  for (const [i, item] of (rawPublish ?? []).entries()) {
    if (!isPlainObject(item) || typeof item.queue !== 'string' || !isPlainObject(item.envelope)) {
      return { error: `publish[${i}] must be {queue: string, envelope: object, delay_ms?: number}` };
    }
    if (!item.queue.startsWith(QUEUE_PREFIX)) return { error: `publish[${i}] targets ${item.queue}, which is not an ${QUEUE_PREFIX} queue` };
    if (item.queue === ownQueue) return { error: `publish[${i}] targets ${ownQueue}, this end actor's own queue` };
    const delay = item.delay_ms;
    if (delay !== undefined && (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0)) {
      return { error: `publish[${i}].delay_ms must be a non-negative number` };
    }
    publish.push({ queue: item.queue, envelope: item.envelope as JsonObject, ...(delay ? { delay_ms: delay } : {}) });
  }
  const metadata = Object.keys(rest).length > 0 ? (rest as JsonObject) : undefined;
  return { finalReported: finalReported === true, publish, ...(metadata ? { metadata } : {}) };
}

/** What error-end puts on the DLQ queue and `asya dlq` reads. */
export interface DeadLetterRecord {
  id: string;
  /** null when the message was not an error envelope at all (code `invalid_error_envelope`). */
  failed_actor: string | null;
  error: string;
  code: string;
  details?: ErrorDetails | JsonValue;
  attempts: number;
  dead_lettered_at: string;
  storage_uri?: string;
  /** The envelope as the failed actor received it; `asya dlq replay` sends it back there. */
  envelope: JsonObject;
  /** The W3C trace id of the envelope's trace, when it carried one: where to look for what happened. */
  trace_id?: string;
}

export function isDeadLetterRecord(value: unknown): value is DeadLetterRecord {
  return (
    isPlainObject(value) &&
    typeof value.id === 'string' &&
    (typeof value.failed_actor === 'string' || value.failed_actor === null) &&
    typeof value.code === 'string' &&
    isPlainObject(value.envelope)
  );
}

/** Header values may arrive as objects (ours) or as JSON text (other producers); both are accepted. */
export function headerObject(headers: unknown, name: string): Record<string, unknown> | undefined {
  if (!isPlainObject(headers)) return undefined;
  let value = headers[name];
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  return isPlainObject(value) ? value : undefined;
}

/** Attempts per actor from `x-asya-attempts`; entries that are not non-negative integers are ignored. */
export function readAttempts(headers: unknown): Record<string, number> {
  const raw = headerObject(headers, ATTEMPTS_HEADER) ?? {};
  const attempts: Record<string, number> = {};
  for (const [actor, n] of Object.entries(raw)) if (Number.isInteger(n) && (n as number) >= 0) attempts[actor] = n as number;
  return attempts;
}

export function readReplays(headers: unknown): number {
  const n = isPlainObject(headers) ? Number(headers[REPLAYS_HEADER]) : 0;
  return Number.isInteger(n) && n > 0 ? n : 0;
}
