/**
 * error-end's retry decision, pure: the failing actor's policy (spec.retry, carried in the
 * `x-asya-retry-policy` header), its attempts so far (per actor, `x-asya-attempts`), the error's code and
 * type. Randomness and the clock are parameters so every rule is unit-tested exactly.
 */
import { retrySchema, type RetryPolicy } from '../api/asyncactor.ts';
import { ATTEMPTS_HEADER, isPlainObject, RETRY_POLICY_HEADER, type JsonObject } from '../protocol/index.ts';
import { errorText } from '../protocol/errors.ts';

export type { RetryPolicy } from '../api/asyncactor.ts';

/** maxAttempts 3, 1 s, ×2, at most 300 s, jitter, parse/validation/route errors are not retried. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = retrySchema.parse({});

/** ±20 %: spreads the retries of a burst of failures so they do not hit the actor again all at once. */
export const JITTER = 0.2;

/** A policy from a header or env value (object or JSON text); undefined when absent or invalid. */
export function parseRetryPolicy(value: unknown): { policy?: RetryPolicy; problem?: string } {
  if (value === undefined || value === null || value === '') return {};
  let raw = value;
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch (err) {
      return { problem: `not JSON: ${errorText(err)}` };
    }
  }
  const result = retrySchema.safeParse(raw);
  if (!result.success) return { problem: result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') };
  return { policy: result.data };
}

/**
 * The pause before attempt `attempt + 1`, after `attempt` failed: min(max, initial × multiplier^(attempt−1))
 * seconds, then ±20 % jitter, never below 0.
 */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const seconds = Math.min(policy.maxDelaySeconds, policy.initialDelaySeconds * policy.multiplier ** Math.max(0, attempt - 1));
  const factor = policy.jitter ? 1 + (random() * 2 - 1) * JITTER : 1;
  return Math.max(0, Math.round(seconds * 1000 * factor));
}

/** What error-end reports at the gateway when it schedules a retry, e.g. "retry 1/3 in 0.3 s". */
export function retryMessage(attempt: number, maxAttempts: number, delayMs: number): string {
  return `retry ${attempt}/${maxAttempts} in ${(delayMs / 1000).toFixed(1)} s`;
}

export function isNonRetryable(policy: RetryPolicy, code: string | undefined, detailsType: string | undefined): boolean {
  return (code !== undefined && policy.nonRetryableErrors.includes(code)) || (detailsType !== undefined && policy.nonRetryableErrors.includes(detailsType));
}

export interface RetryInput {
  /** The attempt that just failed, 1-based: previous attempts of this actor + 1. */
  attempt: number;
  policy: RetryPolicy;
  /** `payload.code` (ours) or `payload.error` (the original's error envelopes carry the code there). */
  code?: string;
  /** `payload.details.type`, e.g. ValueError. */
  detailsType?: string;
  /** Without the original payload there is nothing to retry (e.g. a result too large to send). */
  hasOriginalPayload: boolean;
  /** RFC 3339; a retry that would start after it is pointless. */
  deadline?: string;
  now: number;
  random?: () => number;
}

export type RetryDecision =
  | { retry: true; attempt: number; delayMs: number }
  | { retry: false; attempt: number; reason: string };

export function decideRetry(input: RetryInput): RetryDecision {
  const { attempt, policy } = input;
  if (isNonRetryable(policy, input.code, input.detailsType)) {
    return { retry: false, attempt, reason: `${input.code ?? input.detailsType} is not retryable` };
  }
  if (!input.hasOriginalPayload) return { retry: false, attempt, reason: 'the error envelope has no original payload to retry' };
  if (attempt >= policy.maxAttempts) return { retry: false, attempt, reason: `gave up after ${attempt} of ${policy.maxAttempts} attempts` };
  const delayMs = backoffMs(attempt, policy, input.random);
  if (input.deadline !== undefined) {
    const deadline = Date.parse(input.deadline);
    if (Number.isFinite(deadline) && input.now + delayMs >= deadline) {
      return { retry: false, attempt, reason: `the deadline ${input.deadline} passes before a retry could start` };
    }
  }
  return { retry: true, attempt, delayMs };
}

/**
 * Headers for the envelope sent back to the failed actor: its attempt count set, the policy header removed
 * (the actor's sidecar attaches its current policy again if the retry fails too).
 */
export function retryHeaders(headers: unknown, attempts: Record<string, number>): JsonObject {
  const { [RETRY_POLICY_HEADER]: _policy, ...rest } = isPlainObject(headers) ? (headers as JsonObject) : {};
  return { ...rest, [ATTEMPTS_HEADER]: attempts };
}
