/**
 * Reading and replaying error-end's dead letters on any transport. Brokers have no "peek": we consume the
 * messages, hold every one unacknowledged while deciding, then ack those that were replayed and return the
 * rest. The DLQ queue has no delivery limit, so being returned never dead-letters a dead letter.
 */
import {
  ATTEMPTS_HEADER,
  isDeadLetterRecord,
  isPlainObject,
  queueName,
  readAttempts,
  readReplays,
  REPLAYS_HEADER,
  type DeadLetterRecord,
  type JsonObject,
} from '../protocol/index.ts';
import { TransportError, type Delivery, type Transport } from '../transport/transport.ts';

export interface DeadLetter {
  readonly delivery: Delivery;
  /** Set when the message is one of error-end's records. */
  readonly record?: DeadLetterRecord;
  /** The body as text, for messages that are not records. */
  readonly raw: string;
}

export interface ReadOptions {
  /** At most this many messages are held at once. @default 1000 */
  limit?: number;
  /** Stop waiting once no message arrived for this long. @default 2000 */
  idleMs?: number;
}

/** The DLQ queue is created without a delivery limit (and so without a DLQ of its own). */
export async function ensureDlqQueue(transport: Transport, queue: string): Promise<void> {
  await transport.ensureQueue(queue);
}

/**
 * Hands every message on `queue` (up to `limit`) to `decide`, which returns the ones to acknowledge (their
 * work is done, e.g. replayed); all others go back to the queue unchanged.
 */
export async function withDeadLetters<T>(
  transport: Transport,
  queue: string,
  decide: (letters: DeadLetter[]) => Promise<{ ack: DeadLetter[]; result: T }>,
  options: ReadOptions = {},
): Promise<T> {
  let expected: number;
  try {
    expected = (await transport.queueDepth(queue)).ready;
  } catch (err) {
    if (err instanceof TransportError && err.reason === 'not_found') return (await decide([])).result;
    throw err;
  }
  if (expected === 0) return (await decide([])).result;
  const limit = Math.min(expected, options.limit ?? 1000);
  const idleMs = options.idleMs ?? 2000;
  const letters: DeadLetter[] = [];
  const gates = new Map<Delivery, (ack: boolean) => void>();
  let closed = false;
  let lastArrival = Date.now();
  const consumer = await transport.consume(
    queue,
    async (delivery) => {
      if (closed) return transport.nack(delivery, { requeue: true });
      letters.push(parseLetter(delivery));
      lastArrival = Date.now();
      // Held until decided: a message that stays unacknowledged cannot be handed to us (or anyone) twice.
      const ack = await new Promise<boolean>((resolve) => gates.set(delivery, resolve));
      await (ack ? transport.ack(delivery) : transport.nack(delivery, { requeue: true }));
    },
    { concurrency: limit },
  );
  const release = async (acked: Set<DeadLetter>) => {
    closed = true;
    const stopped = consumer.stop();
    for (const letter of letters) gates.get(letter.delivery)?.(acked.has(letter));
    await stopped;
  };
  try {
    while (letters.length < limit && Date.now() - lastArrival < idleMs) await new Promise((r) => setTimeout(r, 25));
    const { ack, result } = await decide([...letters]);
    await release(new Set(ack));
    return result;
  } catch (err) {
    if (!closed) await release(new Set());
    throw err;
  }
}

function parseLetter(delivery: Delivery): DeadLetter {
  const raw = delivery.body.toString('utf8');
  try {
    const value: unknown = JSON.parse(raw);
    if (isDeadLetterRecord(value)) return { delivery, record: value, raw };
  } catch {
    // Not JSON: shown as raw text, never replayed.
  }
  return { delivery, raw };
}

/** The envelope to send back: its failed actor's attempt count reset, the replay counted. */
export function replayEnvelope(record: DeadLetterRecord): JsonObject {
  const headers = isPlainObject(record.envelope.headers) ? (record.envelope.headers as JsonObject) : {};
  const attempts = readAttempts(headers);
  if (record.failed_actor) attempts[record.failed_actor] = 0;
  return { ...record.envelope, headers: { ...headers, [ATTEMPTS_HEADER]: attempts, [REPLAYS_HEADER]: readReplays(headers) + 1 } };
}

export class NotReplayableError extends Error {
  override readonly name = 'NotReplayableError';
}

/** Publishes the record's envelope to its failed actor's queue (broker-confirmed); returns that queue. */
export async function replay(transport: Transport, record: DeadLetterRecord): Promise<string> {
  if (!record.failed_actor) {
    throw new NotReplayableError(`${record.id} has no failed actor (${record.code}: ${record.error}); it cannot be replayed`);
  }
  const target = queueName(record.failed_actor);
  await transport.publish(target, Buffer.from(JSON.stringify(replayEnvelope(record))));
  return target;
}
