/** SQS limits and the decisions built on them, kept pure so they are unit-tested without a clock or a server. */
import type { MessageAttributeValue } from '@aws-sdk/client-sqs';

/** SQS refuses DelaySeconds above this; longer delays are chained (see planDelay). */
export const SQS_MAX_DELAY_SECONDS = 900;
/**
 * The classic SQS message limit. AWS raised the ceiling to 1 MiB in 2025, but queues created before keep
 * MaximumMessageSize 262144, so this is the size every queue accepts. Configurable per transport.
 */
export const SQS_MAX_MESSAGE_BYTES = 262_144;
/** Longest visibility timeout SQS allows (12 hours). */
export const SQS_MAX_VISIBILITY_SECONDS = 43_200;
/** Used when nobody told this process how long handlers run; heartbeats keep longer work invisible. */
export const DEFAULT_VISIBILITY_SECONDS = 30;
/** Carries the part of a long delay that the current SQS hop could not cover. */
export const DELAY_REMAINING_ATTRIBUTE = 'asya-delay-remaining-ms';

export interface DelayPlan {
  /** DelaySeconds for this hop (0 = none). */
  delaySeconds: number;
  /** Delay still owed after this hop; > 0 means the receiver re-delays instead of delivering. */
  remainingMs: number;
}

/**
 * Splits a delay into one SQS hop plus the remainder. Rounding up to whole seconds keeps "never early";
 * the remainder is relative rather than a deadline so publisher and consumer clocks need not agree.
 */
export function planDelay(delayMs: number, maxDelaySeconds = SQS_MAX_DELAY_SECONDS): DelayPlan {
  if (!(delayMs > 0)) return { delaySeconds: 0, remainingMs: 0 };
  const maxMs = maxDelaySeconds * 1000;
  if (delayMs <= maxMs) return { delaySeconds: Math.ceil(delayMs / 1000), remainingMs: 0 };
  return { delaySeconds: maxDelaySeconds, remainingMs: Math.ceil(delayMs - maxMs) };
}

/** The delay a received message still owes; 0 (deliver now) when absent or unreadable. */
export function remainingDelayOf(attributes: Record<string, MessageAttributeValue> | undefined): number {
  const raw = attributes?.[DELAY_REMAINING_ATTRIBUTE]?.StringValue;
  const ms = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(ms) && ms > 0 ? ms : 0;
}

export function delayAttributes(plan: DelayPlan): Record<string, MessageAttributeValue> | undefined {
  if (plan.remainingMs <= 0) return undefined;
  return { [DELAY_REMAINING_ATTRIBUTE]: { DataType: 'Number', StringValue: String(plan.remainingMs) } };
}

/** SQS counts attribute names, types and values toward the message size limit. */
export function messageSize(body: Buffer, attributes: Record<string, MessageAttributeValue> | undefined): number {
  let size = body.length;
  for (const [name, value] of Object.entries(attributes ?? {})) {
    size += Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '') + Buffer.byteLength(value.StringValue ?? '');
  }
  return size;
}

export interface RedrivePolicy {
  deadLetterTargetArn: string;
  maxReceiveCount: number;
}

/** Real SQS returns maxReceiveCount as a string, moto as a number: accept both. */
export function parseRedrivePolicy(raw: string | undefined): RedrivePolicy | undefined {
  if (!raw) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { deadLetterTargetArn, maxReceiveCount } = parsed as Record<string, unknown>;
  const count = typeof maxReceiveCount === 'string' ? Number(maxReceiveCount.trim()) : maxReceiveCount;
  if (typeof deadLetterTargetArn !== 'string' || typeof count !== 'number' || !Number.isInteger(count) || count < 1) {
    return undefined;
  }
  return { deadLetterTargetArn, maxReceiveCount: count };
}

export function queueNameFromArn(arn: string): string {
  return arn.slice(arn.lastIndexOf(':') + 1);
}

/** Longer than the handler may run, with room for routing; SQS caps it at 12 hours. */
export function visibilityFor(processingTimeoutMs: number): number {
  return Math.min(SQS_MAX_VISIBILITY_SECONDS, Math.ceil(processingTimeoutMs / 1000) + 30);
}

/** Extend well before expiry: a heartbeat lost to one slow API call must not let the message go. */
export function heartbeatIntervalMs(visibilitySeconds: number): number {
  return Math.max(200, Math.floor((visibilitySeconds * 1000) / 3));
}
