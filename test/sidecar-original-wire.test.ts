/**
 * Our sidecar in front of a runtime that speaks the original Python runtime's exact bytes
 * (test/support/original_wire_runtime.py): users keep their existing runtime images.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { queueName } from '../protocol/index.ts';
import { MemoryTransport } from '../transport/memory.ts';
import { collectEnds, envelopeBody, startActor, type Actor } from './support/pipeline.ts';
import { waitDrained } from './support/queues.ts';
import { REPO_ROOT } from './support/runtime-process.ts';

describe('sidecar with the original runtime wire format', () => {
  const transport = new MemoryTransport();
  let ends: Awaited<ReturnType<typeof collectEnds>>;
  let actor: Actor;
  const send = async (payload: unknown, extra: Record<string, unknown> = {}) => {
    const id = randomUUID();
    const body = envelopeBody(id, [actor.name, 'next-step'], payload, extra);
    await transport.publish(queueName(actor.name), body);
    return { id, body };
  };

  beforeAll(async () => {
    ends = await collectEnds(transport, [queueName('next-step')]);
    actor = await startActor(transport, 'legacy', {
      kind: 'python',
      fixture: 'unused',
      command: ['python3', join(REPO_ROOT, 'test/support/original_wire_runtime.py')],
    });
  });
  afterAll(async () => {
    await actor.stop();
    await ends.stop();
    await transport.close();
  });

  test('the request is the queue body, byte for byte, and ASCII-escaped unicode comes back intact', async () => {
    const { id, body } = await send({ scenario: 'raw', text: '世界 🌍' }, { deadline: '2999-01-01T00:00:00Z', extra_key: [1] });
    await ends.waitForIds([id]);
    const [arrival] = ends.byId(id);
    expect(arrival!.queue).toBe('asya-next-step');
    expect(arrival!.envelope.payload.request).toBe(body.toString('utf8'));
  });

  test('a success answer routes to the next actor with the route the runtime returned', async () => {
    const { id } = await send({ scenario: 'echo', text: 'Hello 世界' }, { headers: { trace: 'x' } });
    await ends.waitForIds([id]);
    const [arrival] = ends.byId(id);
    expect(arrival!.envelope).toMatchObject({ id, route: { actors: [actor.name, 'next-step'], current: 1 }, payload: { text: 'Hello 世界' } });
    // The original runtime returns no headers in payload mode answers; ours carries the input's headers on.
    expect(arrival!.envelope.headers).toEqual({ trace: 'x' });
  });

  test('a fan-out answer becomes three children with unique ids', async () => {
    const { id } = await send({ scenario: 'fanout' });
    await ends.waitFor((all) => all.filter((a) => a.envelope.parent_id === id).length === 3);
    expect(ends.arrivals.filter((a) => a.envelope.parent_id === id).map((a) => a.envelope.id).sort()).toEqual([0, 1, 2].map((i) => `${id}-${i}`));
  });

  test('[] sends the input to happy-end', async () => {
    const { id } = await send({ scenario: 'empty' });
    await ends.waitForIds([id]);
    expect(ends.byId(id)[0]!.queue).toBe('asya-happy-end');
  });

  test('an error answer keeps message, type and traceback', async () => {
    const { id } = await send({ scenario: 'error' });
    await ends.waitForIds([id]);
    const arrival = ends.byId(id)[0]!;
    expect(arrival.queue).toBe('asya-error-end');
    expect(arrival.envelope.payload.details).toEqual({
      message: 'Intentional test failure',
      type: 'ValueError',
      traceback: expect.stringContaining('ValueError: Intentional test failure'),
    });
  });

  test('NaN in an answer is an invalid_response error, not a crash', async () => {
    const { id } = await send({ scenario: 'nan' });
    await ends.waitForIds([id]);
    const arrival = ends.byId(id)[0]!;
    expect(arrival.queue).toBe('asya-error-end');
    expect(arrival.envelope.payload.code).toBe('invalid_response');
    expect(arrival.envelope.payload.error).toMatch(/failed to parse runtime response/);
  });

  test('a connection closed without an answer is retried, then reported as connection_error once', async () => {
    const { id } = await send({ scenario: 'no_answer' });
    await ends.waitForIds([id]);
    const arrival = ends.byId(id)[0]!;
    expect(arrival.queue).toBe('asya-error-end');
    expect(arrival.envelope.payload.code).toBe('connection_error');
    // A second error would have been published before the input was acked: once the actor's queue and the
    // end queues are empty, everything that was sent has been collected.
    await waitDrained(transport, [queueName(actor.name), ...ends.queues], 30_000);
    expect(ends.byId(id)).toHaveLength(1);
  });
});
