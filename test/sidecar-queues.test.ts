/** What a sidecar declares on start: its own queue with the shared options, and for error-end the crew's DLQ. */
import { afterEach, describe, expect, test } from 'vitest';
import { actorQueueOptions, QUEUE_MAX_DELIVERIES } from '../protocol/index.ts';
import { MemoryTransport } from '../transport/memory.ts';
import { startActor, type Actor } from './support/pipeline.ts';

const actors: Actor[] = [];
afterEach(async () => {
  await Promise.all(actors.splice(0).map((a) => a.stop()));
});

describe('queues a sidecar declares', () => {
  test('the error-end sidecar creates asya-dlq (ASYA_DLQ_QUEUE) so dead letters have a home in a cluster', async () => {
    const transport = new MemoryTransport();
    actors.push(await startActor(transport, 'error-end', { kind: 'node', fixture: 'passthrough', sidecarEnv: { ASYA_IS_END_ACTOR: 'true', ASYA_DLQ_QUEUE: 'asya-dead' } }));
    await expect(transport.queueDepth('asya-dead')).resolves.toMatchObject({ ready: 0 });
    await expect(transport.queueDepth('asya-dlq')).rejects.toThrow();
  });

  test('other actors do not', async () => {
    const transport = new MemoryTransport();
    actors.push(await startActor(transport, 'plain', { kind: 'node', fixture: 'echo' }));
    await expect(transport.queueDepth('asya-dlq')).rejects.toThrow();
  });

  test('sidecar, crew and controller share one rule for the queue arguments: every actor queue has a DLQ', () => {
    expect(actorQueueOptions(60_000)).toEqual({ processingTimeoutMs: 120_000, maxDeliveries: QUEUE_MAX_DELIVERIES });
  });
});
