/** Queue names that cannot collide between test files running in parallel, or with a previous run's leftovers. */
import { randomBytes } from 'node:crypto';
import { deadLetterQueueOf, type Transport } from '../../transport/transport.ts';

let counter = 0;
const run = `${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;

/**
 * `asya-t<run>-<n>-<tag>`: a valid actor queue (lowercase, digits, hyphens; actor part under 63 chars), so
 * RabbitMQ routing keys and SQS names are valid too.
 */
export function uniqueQueueName(tag = 'q'): string {
  const clean = tag.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '').slice(0, 24) || 'q';
  return `asya-t${run}-${++counter}-${clean}`;
}

/**
 * Deletes each queue and its dead-letter queue, whether or not they exist: what a test on a shared broker
 * leaves behind it (a queue created by a spawned sidecar, crew or `asya dev` outlives them).
 */
export async function deleteQueuesWithDeadLetters(transport: Transport, queues: Iterable<string>): Promise<void> {
  for (const queue of withDeadLetterQueues(queues)) await transport.deleteQueue(queue).catch(() => {});
}

/** Each queue, then its dead-letter queue (a sidecar declares both), once each: what to delete after a run. */
export function withDeadLetterQueues(queues: Iterable<string>): string[] {
  return [...new Set(queues)].flatMap((queue) => [queue, deadLetterQueueOf(queue)]);
}

/** Hands out names and deletes every queue it named (and its `-dlq`) at the end of a test. */
export class TestQueues {
  private readonly names: string[] = [];

  name(tag?: string): string {
    const name = uniqueQueueName(tag);
    this.names.push(name);
    return name;
  }

  async cleanup(transport: Transport): Promise<void> {
    await deleteQueuesWithDeadLetters(transport, this.names.splice(0));
  }
}

/** Waits until the queues hold nothing: no ready, in-flight or delayed message (delayed retries included). */
export async function waitDrained(transport: Transport, queues: string[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  for (;;) {
    let total = 0;
    const held: string[] = [];
    for (const q of queues) {
      const d = await transport.queueDepth(q);
      const n = d.ready + d.inFlight + d.delayed;
      total += n;
      // Which queue and in which state says whose message it is: ready (no consumer takes it), in flight
      // (a consumer holds it) or delayed (a retry waiting its turn).
      if (n > 0) held.push(`${q}: ${d.ready} ready, ${d.inFlight} in flight, ${d.delayed} delayed`);
    }
    if (total === 0) return;
    if (Date.now() > deadline) throw new Error(`queues still hold ${total} message(s) after ${timeoutMs} ms (${held.join('; ')}; before: ${last})`);
    last = total;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * How long a test's `asya dlq` command waits for the dead letters the queue reported ready. It stops as soon
 * as all of them arrived, so this bounds only a failure; a short idle window (300 ms, as tests once used)
 * silently read fewer letters when the first delivery was slow on a loaded machine.
 */
export const DLQ_IDLE_MS = 30_000;
