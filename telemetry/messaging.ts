/**
 * Span names and attributes of a hop, after the OpenTelemetry messaging semantic conventions: a consumer
 * span `process <queue>` per delivery, a producer span `send <queue>` per publish, and Asya's own
 * `asya.envelope.id` and `asya.actor` beside `messaging.*`.
 */
import type { Attributes } from '@opentelemetry/api';

/** `messaging.system` of each transport: the convention's names where it has one. */
const SYSTEMS: Record<string, string> = { rabbitmq: 'rabbitmq', sqs: 'aws_sqs', nats: 'nats', memory: 'asya_memory' };

export function messagingSystem(transportKind: string): string {
  return SYSTEMS[transportKind] ?? transportKind;
}

export interface MessageFacts {
  transportKind: string;
  queue: string;
  /** The envelope id: the message's identity across redeliveries, retries and replays. */
  envelopeId?: string | undefined;
  actor?: string | undefined;
}

export function messagingAttributes(operation: 'process' | 'send', facts: MessageFacts): Attributes {
  return {
    'messaging.system': messagingSystem(facts.transportKind),
    'messaging.operation.type': operation,
    'messaging.operation.name': operation,
    'messaging.destination.name': facts.queue,
    ...(facts.envelopeId ? { 'messaging.message.id': facts.envelopeId, 'asya.envelope.id': facts.envelopeId } : {}),
    ...(facts.actor ? { 'asya.actor': facts.actor } : {}),
  };
}

/** The header by which error-end's retry names the failed attempt's span, so the retry's hop links to it. */
export const RETRY_OF_HEADER = 'x-asya-retry-of';
