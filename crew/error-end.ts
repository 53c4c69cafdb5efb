/**
 * error-end: retries a failed step with the failing actor's policy, and when that is exhausted (or the error
 * is not retryable) stores the error envelope, puts a dead-letter record on `asya-dlq` and reports `failed`.
 * Runs like happy-end (ASYA_HANDLER=crew/error-end.ts#handle); the sidecar publishes what this returns.
 *
 * No loops: a message that is not an error envelope goes straight to the DLQ, error-end never retries into
 * itself, and its sidecar refuses any publish to error-end's own queue.
 */
import {
  envelopeLogFields,
  failedReport,
  headerObject,
  isPlainObject,
  isValidActorName,
  queueName,
  readAttempts,
  readReplays,
  RETRY_POLICY_HEADER,
  type DeadLetterRecord,
  type Envelope,
  type JsonObject,
  type JsonValue,
} from '../protocol/index.ts';
import { lazyHandler, type CrewConfig } from './config.ts';
import { requireEnvelope, storageMetadata, type CrewAnswer } from './happy-end.ts';
import { envelopeKey, markerKey } from './keys.ts';
import { markReported, perKey, storedBody, storeOnce } from './once.ts';
import { decideRetry, parseRetryPolicy, retryHeaders, retryMessage } from './retry-policy.ts';
import type { Span } from '@opentelemetry/api';
import { deadLettered, traceCrewCall } from './tracing.ts';
import { traceIdOfHeaders } from '../telemetry/index.ts';

/** An error envelope as the sidecar builds it (protocol/error-envelope.ts), or as the original Go one did. */
interface Failure {
  actor: string;
  error: string;
  code: string;
  details?: JsonValue;
  originalPayload?: JsonValue;
}

export function readFailure(envelope: Envelope, errorEnd: string): Failure | { invalid: string } {
  const payload = envelope.payload;
  if (!isPlainObject(payload) || typeof payload.error !== 'string') return { invalid: 'payload has no error: not an error envelope' };
  const route = envelope.route;
  // The original Go sidecar did not name the failed actor; its route's `current` points at it.
  const inferred = isPlainObject(route) && Array.isArray(route.actors) && Number.isInteger(route.current) ? route.actors[route.current] : undefined;
  const actor = typeof payload.failed_actor === 'string' ? payload.failed_actor : inferred;
  if (typeof actor !== 'string' || actor === '') return { invalid: 'error envelope names no failed actor' };
  if (!isValidActorName(actor)) return { invalid: `failed actor ${JSON.stringify(actor)} is not a valid actor name` };
  if (actor === errorEnd) return { invalid: `${errorEnd} never retries into itself` };
  return {
    actor,
    error: payload.error,
    code: typeof payload.code === 'string' ? payload.code : payload.error,
    ...(payload.details !== undefined ? { details: payload.details as JsonValue } : {}),
    ...('original_payload' in payload ? { originalPayload: payload.original_payload as JsonValue } : {}),
  };
}

/** The envelope as the failed actor received it: what a retry or a replay sends back to it. */
export function rebuildOriginal(envelope: Envelope, failure: Failure, attempts: Record<string, number>): JsonObject {
  const route = envelope.route;
  const original: JsonObject = { id: envelope.id };
  if (typeof envelope.parent_id === 'string') original.parent_id = envelope.parent_id;
  original.route = { actors: route.actors, current: route.current, ...(isPlainObject(route.metadata) ? { metadata: route.metadata } : {}) };
  original.headers = retryHeaders(envelope.headers, attempts);
  original.payload = failure.originalPayload ?? null;
  if (typeof envelope.deadline === 'string') original.deadline = envelope.deadline;
  return original;
}

export interface ErrorEndOptions {
  clock?: () => Date;
  random?: () => number;
}

export function createErrorEnd(config: CrewConfig, options: ErrorEndOptions = {}) {
  const clock = options.clock ?? (() => new Date());
  const inTurn = perKey();

  const deadLetter = async (
    envelope: Envelope,
    entry: Omit<DeadLetterRecord, 'id' | 'dead_lettered_at' | 'storage_uri'>,
    now: Date,
    span: Span | undefined,
  ): Promise<CrewAnswer> => {
    const marker = markerKey(config.errorsPrefix, envelope.id, readReplays(envelope.headers));
    return inTurn(marker, async (): Promise<CrewAnswer> => {
      const stored = await storeOnce(config.storage, marker, { objectKey: envelopeKey(config.errorsPrefix, envelope, now), body: storedBody(envelope), at: now });
      const traceId = traceIdOfHeaders(envelope.headers);
      const record: DeadLetterRecord = { id: envelope.id, ...entry, dead_lettered_at: stored.at, storage_uri: stored.uri, ...(traceId ? { trace_id: traceId } : {}) };
      if (record.details === undefined) delete record.details;
      deadLettered(span, entry.code, entry.error, entry.attempts);
      const publish = [{ queue: config.dlqQueue, envelope: record as unknown as JsonObject }];
      config.log.warn(`Dead-lettering ${envelope.id} (${entry.failed_actor ?? 'no actor'}: ${entry.code}) after ${entry.attempts} attempt(s)`, envelopeLogFields(envelope));
      if (!config.gateway) return { payload: { storage_uri: stored.uri, dead_lettered: true, publish } };
      if (!stored.reported) {
        const report = failedReport(envelope, storageMetadata(stored.uri), now);
        if (entry.failed_actor === null) report.error = `${entry.code}: ${entry.error}`;
        await config.gateway.final(envelope.id, report);
        await markReported(config.storage, marker);
      }
      return { payload: { final_reported: true, storage_uri: stored.uri, dead_lettered: true, publish } };
    });
  };

  return (value: unknown): Promise<CrewAnswer> => traceCrewCall('error-end', value, (span) => decide(value, span));

  async function decide(value: unknown, span: Span | undefined): Promise<CrewAnswer> {
    const envelope = requireEnvelope(value);
    const now = clock();
    const failure = readFailure(envelope, config.errorEnd);
    if ('invalid' in failure) {
      const asReceived = envelope as unknown as JsonObject;
      return deadLetter(envelope, { failed_actor: null, error: failure.invalid, code: 'invalid_error_envelope', attempts: 0, envelope: asReceived }, now, span);
    }
    const previous = readAttempts(envelope.headers);
    const attempt = (previous[failure.actor] ?? 0) + 1;
    const { policy, problem } = parseRetryPolicy(headerObject(envelope.headers, RETRY_POLICY_HEADER));
    if (problem) config.log.warn(`Ignoring the retry policy of ${envelope.id} (${problem}); using the defaults`, envelopeLogFields(envelope));
    const activePolicy = policy ?? config.defaultPolicy;
    const original = rebuildOriginal(envelope, failure, { ...previous, [failure.actor]: attempt });
    const details = isPlainObject(failure.details) ? failure.details : undefined;
    const decision = decideRetry({
      attempt,
      policy: activePolicy,
      code: failure.code,
      ...(typeof details?.type === 'string' ? { detailsType: details.type } : {}),
      hasOriginalPayload: failure.originalPayload !== undefined,
      ...(typeof envelope.deadline === 'string' ? { deadline: envelope.deadline } : {}),
      now: now.getTime(),
      ...(options.random ? { random: options.random } : {}),
    });
    if (!decision.retry) {
      config.log.info(`Not retrying ${envelope.id} at ${failure.actor}: ${decision.reason}`, envelopeLogFields(envelope));
      return deadLetter(
        envelope,
        { failed_actor: failure.actor, error: failure.error, code: failure.code, ...(failure.details !== undefined ? { details: failure.details } : {}), attempts: attempt, envelope: original },
        now,
        span,
      );
    }
    const message = retryMessage(attempt, activePolicy.maxAttempts, decision.delayMs);
    config.log.info(`Envelope ${envelope.id} failed at ${failure.actor} (${failure.code}); ${message}`, envelopeLogFields(envelope));
    await config.gateway?.progress(envelope.id, { actors: envelope.route.actors, current_actor_idx: envelope.route.current, status: 'processing', message });
    // No final status yet: the envelope is still on its way. `final_reported` tells the sidecar not to send one.
    return {
      payload: {
        final_reported: true,
        retrying: { actor: failure.actor, attempt, max_attempts: activePolicy.maxAttempts, delay_ms: decision.delayMs },
        publish: [{ queue: queueName(failure.actor), envelope: original, delay_ms: decision.delayMs }],
      },
    };
  }
}

/** The runtime's entry point: configured from the environment on the first message. */
export const handle = lazyHandler('error-end', createErrorEnd);
