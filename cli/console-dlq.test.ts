/**
 * The console's DLQ source on the memory transport: it lists what error-end wrote (and what it could not
 * read), replays a selection with the gateway's reopen first, leaves what it could not send on the queue
 * and fails those envelopes again, and answers ids it does not hold.
 */
import { describe, expect, it } from 'vitest';
import type { DeadLetterRecord } from '../protocol/crew.ts';
import { queueName } from '../protocol/queues.ts';
import { MemoryTransport } from '../transport/memory.ts';
import { consoleDeadLetters } from './console-dlq.ts';
import type { ReplaySteps } from '../gateway/console/sources.ts';

const DLQ = 'asya-console-dlq-test';
const quiet = { logger: { info() {}, warn() {}, error() {} } };

function record(id: string, actor: string | null): DeadLetterRecord {
  return {
    id, failed_actor: actor, error: 'boom', code: 'processing_error', attempts: 2, dead_lettered_at: '2026-12-02T10:00:00Z',
    envelope: { id, route: { actors: ['clean', 'score'], current: 0 }, payload: { n: 1 }, headers: {} },
  };
}

async function dlqWith(transport: MemoryTransport, bodies: string[]): Promise<void> {
  await transport.ensureQueue(DLQ);
  for (const body of bodies) await transport.publish(DLQ, Buffer.from(body));
}

function steps(log: string[]): ReplaySteps {
  return {
    async reopen(r) {
      log.push(`reopen ${r.id}`);
      return { reopened: true };
    },
    async refail(r, reason) {
      log.push(`refail ${r.id}: ${reason}`);
    },
  };
}

describe('the console DLQ source', () => {
  it('lists records and messages that are not records, and leaves them all on the queue', async () => {
    const transport = new MemoryTransport(quiet);
    await dlqWith(transport, [JSON.stringify(record('a', 'clean')), 'not json at all']);
    const source = consoleDeadLetters(transport, DLQ, { idleMs: 50 });
    const letters = await source.list();
    expect(letters).toEqual([{ record: record('a', 'clean') }, { raw: 'not json at all' }]);
    expect((await transport.queueDepth(DLQ)).ready).toBe(2);
    expect(await source.list()).toHaveLength(2);
    await transport.close();
  });

  it('reopens, then sends the selected records back to the actor that failed; the rest stay', async () => {
    const transport = new MemoryTransport(quiet);
    await transport.ensureQueue(queueName('clean'));
    await dlqWith(transport, [JSON.stringify(record('a', 'clean')), JSON.stringify(record('b', 'clean'))]);
    const source = consoleDeadLetters(transport, DLQ, { idleMs: 50 });
    const log: string[] = [];
    const outcomes = await source.replay(['a', 'missing'], steps(log));
    expect(outcomes).toEqual([
      { id: 'a', ok: true, target: queueName('clean'), reopened: true },
      { id: 'missing', ok: false, error: `no dead letter with id missing in ${DLQ}` },
    ]);
    expect(log).toEqual(['reopen a']);
    expect((await source.list()).map((l) => l.record?.id)).toEqual(['b']);
    expect((await transport.queueDepth(queueName('clean'))).ready).toBe(1);
    await transport.close();
  });

  it('a record it cannot send stays on the queue and its envelope is failed again', async () => {
    const transport = new MemoryTransport(quiet);
    // No queue for `gone`: the publish is refused. A record without a failed actor cannot be replayed.
    await dlqWith(transport, [JSON.stringify(record('c', 'gone')), JSON.stringify(record('d', null))]);
    const source = consoleDeadLetters(transport, DLQ, { idleMs: 50 });
    const log: string[] = [];
    const outcomes = await source.replay(['c', 'd'], steps(log));
    expect(outcomes.map((o) => [o.id, o.ok])).toEqual([['c', false], ['d', false]]);
    expect(outcomes[0]!.error).toMatch(/could not replay it \(left in asya-console-dlq-test\)/);
    expect(outcomes[1]!.error).toMatch(/no failed actor/);
    expect(log.filter((l) => l.startsWith('refail'))).toHaveLength(2);
    expect((await source.list()).map((l) => l.record?.id)).toEqual(['c', 'd']);
    await transport.close();
  });
});
