/** What the sidecar tells the gateway, and that a slow or dead gateway never holds the pipeline up. */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { queueName } from '../protocol/index.ts';
import { MemoryTransport } from '../transport/memory.ts';
import { startFakeGateway, type FakeGateway } from './support/fake-gateway.ts';
import { collectEnds, envelopeBody, startActor, type Actor } from './support/pipeline.ts';

describe('sidecar and gateway', () => {
  const transport = new MemoryTransport();
  let gateway: FakeGateway;
  let ends: Awaited<ReturnType<typeof collectEnds>>;
  const actors: Actor[] = [];
  const start = async (name: string, fixture: string, env: Record<string, string> = {}, mode?: string) => {
    const a = await startActor(transport, name, {
      kind: 'node',
      fixture,
      // Regular actors deliver to this file's own end queues; the end actors under test use the real names.
      sidecarEnv: { ASYA_GATEWAY_URL: gateway.url, ASYA_GATEWAY_TOKEN: 'internal-secret', ...(mode ? {} : ends.sidecarEnv), ...env },
      ...(mode ? { runtimeEnv: { ASYA_HANDLER_MODE: mode, ASYA_ENABLE_VALIDATION: 'false' } } : {}),
    });
    actors.push(a);
    return a;
  };
  const sent = (id: string) => gateway.requests.filter((r) => r.path.startsWith(`/envelopes/${id}/`));

  beforeAll(async () => {
    gateway = await startFakeGateway();
    ends = await collectEnds(transport, [], true);
  });
  afterEach(async () => {
    await Promise.all(actors.splice(0).map((a) => a.stop()));
    gateway.delayMs = 0;
    gateway.status = 200;
  });
  afterAll(async () => {
    await ends.stop();
    await gateway.close();
    await transport.close();
  });

  test('progress: one report per actor for a handler that answers within the coalescing wait (completed), in order, with the token', async () => {
    const [a, b] = await Promise.all([start('prog-a', 'echo'), start('prog-b', 'echo')]);
    const id = randomUUID();
    await transport.publish(queueName(a.name), envelopeBody(id, [a.name, b.name], { x: 1 }));
    await ends.waitForIds([id]);
    // received and processing leave as one processing, which waits 20 ms for a newer report
    // (progress-reporter.ts); an echo answers sooner, so each hop's completed replaces it.
    await expect.poll(() => sent(id).map((r) => `${r.body.status}@${r.body.current_actor_idx}`).filter((r) => r.startsWith('completed'))).toEqual(['completed@1', 'completed@2']);
    const reports = sent(id).map((r) => `${r.body.status}@${r.body.current_actor_idx}`);
    // A processing report shows only if the machine held a handler past the wait, and then before its completed.
    for (const [first, then] of [['processing@0', 'completed@1'], ['processing@1', 'completed@2']]) {
      if (reports.includes(first!)) expect(reports.indexOf(first!)).toBeLessThan(reports.indexOf(then!));
    }
    expect(sent(id).every((r) => r.path === `/envelopes/${id}/progress` && r.batched && r.authorization === 'Bearer internal-secret')).toBe(true);
    expect(sent(id)[0]!.body).toMatchObject({ actors: [a.name, b.name] });
  });

  test('progress to a gateway without POST /progress (an older one, or the original): each report on its own, after one try', async () => {
    const older = await startFakeGateway({ batches: false });
    try {
      const [a, b] = await Promise.all([
        start('prog-old-a', 'echo', { ASYA_GATEWAY_URL: older.url }),
        start('prog-old-b', 'echo', { ASYA_GATEWAY_URL: older.url }),
      ]);
      const id = randomUUID();
      await transport.publish(queueName(a.name), envelopeBody(id, [a.name, b.name], { x: 1 }));
      await ends.waitForIds([id]);
      const reports = () => older.requests.filter((r) => r.path === `/envelopes/${id}/progress`);
      await expect.poll(() => reports().map((r) => `${r.body.status}@${r.body.current_actor_idx}`).filter((r) => r.startsWith('completed'))).toEqual(['completed@1', 'completed@2']);
      expect(reports().every((r) => !r.batched)).toBe(true);
      // One refused batch per sidecar, then never again.
      expect(older.batchRefusals).toBe(2);
    } finally {
      await older.close();
    }
  });

  test('progress: a handler slower than the coalescing wait shows processing before completed', async () => {
    const a = await start('prog-slow', 'sleep');
    const id = randomUUID();
    await transport.publish(queueName(a.name), envelopeBody(id, [a.name], { seconds: 0.3 }));
    await ends.waitForIds([id]);
    await expect.poll(() => sent(id).map((r) => `${r.body.status}@${r.body.current_actor_idx}`)).toEqual(['processing@0', 'completed@1']);
    expect(sent(id)[0]!.body).toMatchObject({ message: `Processing in ${a.name}` });
  });

  test('fan-out children are registered with their index and the fan-out size', async () => {
    const a = await start('reg-fan', 'fanout');
    const id = randomUUID();
    await transport.publish(queueName(a.name), envelopeBody(id, [a.name], { count: 3 }));
    await expect.poll(() => gateway.requests.filter((r) => r.path === '/envelopes' && r.body.parent_id === id).length).toBe(3);
    const children = gateway.requests.filter((r) => r.path === '/envelopes' && r.body.parent_id === id).map((r) => r.body);
    expect(children.sort((x, y) => x.index - y.index)).toEqual(
      [0, 1, 2].map((index) => ({ id: `${id}-${index}`, parent_id: id, actors: [a.name], current: 1, index, count: 3 })),
    );
  });

  test('a dead gateway: every message still goes through, and to the right place', async () => {
    const dead = 'http://127.0.0.1:9'; // discard port: nothing listens
    const a = await start('deadgw', 'echo', { ASYA_GATEWAY_URL: dead });
    const ids = Array.from({ length: 20 }, () => randomUUID());
    for (const id of ids) await transport.publish(queueName(a.name), envelopeBody(id, [a.name], {}));
    await ends.waitForIds(ids);
    for (const id of ids) expect(ends.byId(id).map((x) => x.queue)).toEqual([ends.happyQueue]);
  });

  test('a gateway that never answers does not hold messages back', async () => {
    gateway.delayMs = 60_000;
    const answeredBefore = gateway.answered;
    const requestsBefore = gateway.requests.length;
    const a = await start('slowgw', 'echo');
    const ids = Array.from({ length: 5 }, () => randomUUID());
    for (const id of ids) await transport.publish(queueName(a.name), envelopeBody(id, [a.name], {}));
    await ends.waitForIds(ids);
    // Every message went through while not one progress report had been answered.
    await expect.poll(() => gateway.requests.length).toBeGreaterThan(requestsBefore);
    expect(gateway.answered).toBe(answeredBefore);
  });

  test('happy-end reports succeeded with the result; error-end reports failed with the error fields', async () => {
    const happy = await start('happy-end', 'passthrough', { ASYA_IS_END_ACTOR: 'true' }, 'envelope');
    const error = await start('error-end', 'passthrough', { ASYA_IS_END_ACTOR: 'true' }, 'envelope');
    const ok = randomUUID();
    const bad = randomUUID();
    await transport.publish(queueName(happy.name), Buffer.from(JSON.stringify({ id: ok, route: { actors: ['a'], current: 1 }, payload: { answer: 42 } })));
    await transport.publish(
      queueName(error.name),
      Buffer.from(JSON.stringify({ id: bad, route: { actors: ['a', 'b'], current: 1 }, payload: { error: 'processing_error', details: { message: 'boom', type: 'ValueError' } } })),
    );
    await expect.poll(() => sent(ok).length + sent(bad).length).toBe(2);
    expect(sent(ok)[0]).toMatchObject({ path: `/envelopes/${ok}/final`, body: { id: ok, status: 'succeeded', progress: 1, result: { answer: 42 } } });
    expect(sent(bad)[0]).toMatchObject({
      path: `/envelopes/${bad}/final`,
      body: { id: bad, status: 'failed', error: 'processing_error', error_details: { message: 'boom' }, actors: ['a', 'b'], current_actor_idx: 1, current_actor_name: 'b' },
    });
  });

  test('an end actor reporting an id the gateway never heard of (404) finishes the message instead of looping', async () => {
    gateway.status = 404;
    const happy = await start('happy-end', 'passthrough', { ASYA_IS_END_ACTOR: 'true' }, 'envelope');
    const id = randomUUID();
    await transport.publish(queueName(happy.name), Buffer.from(JSON.stringify({ id, route: { actors: ['a'], current: 1 }, payload: 1 })));
    const depth = async () => {
      const d = await transport.queueDepth(queueName(happy.name));
      return d.ready + d.inFlight;
    };
    await expect.poll(() => sent(id).length).toBe(1);
    await expect.poll(depth).toBe(0);
    // Stopping flushes what the sidecar still had to tell the gateway: a retried report would be sent by now.
    await happy.sidecar.stop();
    expect(sent(id)).toHaveLength(1);
  });

  test('an end actor whose final report is refused keeps the message and reports again', async () => {
    gateway.status = 503;
    const happy = await start('happy-end', 'passthrough', { ASYA_IS_END_ACTOR: 'true' }, 'envelope');
    const id = randomUUID();
    await transport.publish(queueName(happy.name), Buffer.from(JSON.stringify({ id, route: { actors: ['a'], current: 1 }, payload: 1 })));
    await expect.poll(() => sent(id).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(5);
    gateway.status = 200;
    const before = sent(id).length;
    await expect.poll(() => sent(id).length, { timeout: 15_000 }).toBeGreaterThan(before);
    const depth = async () => (await transport.queueDepth(queueName(happy.name)));
    await expect.poll(async () => { const d = await depth(); return d.ready + d.inFlight; }, { timeout: 15_000 }).toBe(0);
  });

  test('a drain while the gateway is away gives the held message back as a fresh delivery, not a counted requeue', async () => {
    gateway.status = 503;
    const happy = await start('happy-end', 'passthrough', { ASYA_IS_END_ACTOR: 'true' }, 'envelope');
    const id = randomUUID();
    const queue = queueName(happy.name);
    await transport.publish(queue, Buffer.from(JSON.stringify({ id, route: { actors: ['a'], current: 1 }, payload: 1 })));
    await expect.poll(() => sent(id).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    // Held, not requeued: the one delivery is still in flight and nothing waits in the queue.
    expect(await transport.queueDepth(queue)).toMatchObject({ ready: 0, inFlight: 1 });
    await happy.sidecar.stop();
    const given = (await happy.sidecar.metrics.registry.getSingleMetric('asya_actor_messages_given_back_total')?.get())?.values ?? [];
    expect(given.map((v) => v.value)).toEqual([1]);
    const counts: number[] = [];
    const reader = await transport.consume(queue, async (d) => {
      counts.push(d.deliveryCount);
      await transport.ack(d);
    });
    await expect.poll(() => counts).toEqual([1]);
    await reader.stop();
  });

  test('a gateway that rejects the final for a reason waiting cannot fix (403) is not waited on: three tries, then the DLQ', async () => {
    gateway.status = 403;
    const happy = await start('happy-end', 'passthrough', { ASYA_IS_END_ACTOR: 'true' }, 'envelope');
    const id = randomUUID();
    await transport.publish(queueName(happy.name), Buffer.from(JSON.stringify({ id, route: { actors: ['a'], current: 1 }, payload: 1 })));
    await expect.poll(async () => (await transport.queueDepth(`${queueName(happy.name)}-dlq`)).ready, { timeout: 15_000 }).toBe(1);
    // One request per delivery (a rejection is not retried in place), ASYA_RUNTIME_MAX_RETRIES deliveries.
    expect(sent(id)).toHaveLength(3);
    expect((await happy.sidecar.metrics.registry.getSingleMetric('asya_actor_gateway_unavailable_total')?.get())?.values ?? []).toEqual([]);
    const dead: string[] = [];
    const reader = await transport.consume(`${queueName(happy.name)}-dlq`, async (d) => {
      dead.push(JSON.parse(d.body.toString('utf8')).id);
      await transport.ack(d);
    });
    await expect.poll(() => dead).toEqual([id]);
    await reader.stop();
  });
});
