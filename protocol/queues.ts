/** Queue naming shared by every transport, the sidecar, the gateway and the crew. */

export const QUEUE_PREFIX = 'asya-';
export const HAPPY_END = 'happy-end';
export const ERROR_END = 'error-end';
/** The conventional name of the fan-in crew actor (protocol/fan-in.ts); any name works, the route decides. */
export const FAN_IN_ACTOR = 'fan-in';

/** Actor names become queue names, DNS labels and metric labels, so they are kept to that alphabet. */
const ACTOR_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function isValidActorName(name: string): boolean {
  return ACTOR_NAME.test(name);
}

export function queueName(actor: string): string {
  return QUEUE_PREFIX + actor;
}

/** The routing key on the `asya` exchange is the bare actor name (the original's operator got this wrong). */
export function actorFromQueue(queue: string): string {
  return queue.startsWith(QUEUE_PREFIX) ? queue.slice(QUEUE_PREFIX.length) : queue;
}

export interface EndActors {
  happyEnd: string;
  errorEnd: string;
}

export function isEndActor(actor: string, ends: { happyEnd?: string; errorEnd?: string } = {}): boolean {
  return actor === (ends.happyEnd ?? HAPPY_END) || actor === (ends.errorEnd ?? ERROR_END);
}

export function dlqName(actor: string): string {
  return `${queueName(actor)}-dlq`;
}

/**
 * A message delivered this many times (each crash of a sidecar mid-message, each requeue counts) moves to
 * `asya-<actor>-dlq` instead of being redelivered forever. Drains requeue too, so this leaves room for them.
 */
export const QUEUE_MAX_DELIVERIES = 10;

/**
 * How an actor's own queue is declared. The sidecar, `asya crew` and the controller all declare it, and a
 * broker refuses (or, with us, merely warns about) a second declaration with other arguments, so they must
 * agree: the processing timeout doubled, and the delivery limit.
 */
export function actorQueueOptions(runtimeTimeoutMs: number): { processingTimeoutMs: number; maxDeliveries: number } {
  return { processingTimeoutMs: runtimeTimeoutMs * 2, maxDeliveries: QUEUE_MAX_DELIVERIES };
}
