/**
 * ASYA_EXIT_WHEN_IDLE (the Job workload kind): the sidecar processes what its queue holds, then finishes by
 * itself once the queue has stayed empty, with every message routed and nothing left in flight.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { queueName } from '../protocol/index.ts';
import { loadSidecarConfig } from '../sidecar/config.ts';
import { MemoryTransport } from '../transport/memory.ts';
import { envelopeBody, startActor, type Actor } from './support/pipeline.ts';

const actors: Actor[] = [];
afterEach(async () => {
  await Promise.all(actors.splice(0).map((a) => a.stop()));
});

describe('sidecar exit when idle', () => {
  test('ASYA_EXIT_WHEN_IDLE is a duration; unset means run until stopped', () => {
    expect(loadSidecarConfig({ ASYA_ACTOR_NAME: 'a', ASYA_EXIT_WHEN_IDLE: '30s' }).exitWhenIdleMs).toBe(30_000);
    expect(loadSidecarConfig({ ASYA_ACTOR_NAME: 'a' }).exitWhenIdleMs).toBeUndefined();
    expect(() => loadSidecarConfig({ ASYA_ACTOR_NAME: 'a', ASYA_EXIT_WHEN_IDLE: 'soon' })).toThrow(/ASYA_EXIT_WHEN_IDLE/);
  });

  test('finishes after the queue is drained, with every message routed onward', async () => {
    const transport = new MemoryTransport();
    const happy = queueName('happy-end');
    await transport.ensureQueue(happy);
    await transport.ensureQueue(queueName('batch'));
    for (let i = 0; i < 5; i++) {
      await transport.publish(queueName('batch'), envelopeBody(`job-${i}`, ['batch'], { i }));
    }
    const actor = await startActor(transport, 'batch', { kind: 'node', fixture: 'echo', sidecarEnv: { ASYA_EXIT_WHEN_IDLE: '300ms' } });
    actors.push(actor);
    await actor.sidecar.finished;
    expect(await transport.queueDepth(queueName('batch'))).toMatchObject({ ready: 0, inFlight: 0 });
    expect(await transport.queueDepth(happy)).toMatchObject({ ready: 5 });
  });

  test('without it the sidecar keeps running on an empty queue', async () => {
    const transport = new MemoryTransport();
    const actor = await startActor(transport, 'daemon', { kind: 'node', fixture: 'echo' });
    actors.push(actor);
    let finished = false;
    void actor.sidecar.finished.then(() => (finished = true));
    // A second sidecar, started later with ASYA_EXIT_WHEN_IDLE, finishes: the first has been idle longer.
    const control = await startActor(transport, 'control', { kind: 'node', fixture: 'echo', sidecarEnv: { ASYA_EXIT_WHEN_IDLE: '300ms' } });
    actors.push(control);
    await control.sidecar.finished;
    expect(finished).toBe(false);
  });
});
