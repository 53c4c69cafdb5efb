/**
 * The sidecar's side of the crew contract (protocol/crew.ts), on the memory transport: an end actor whose
 * handler echoes its input (`passthrough`, envelope mode) answers with whatever payload the test sends it.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { ATTEMPTS_HEADER, queueName, readEndActorResponse, RETRY_POLICY_HEADER } from '../protocol/index.ts';
import { DEFAULT_RETRY_POLICY } from '../crew/retry-policy.ts';
import { loadSidecarConfig } from '../sidecar/config.ts';
import { MemoryTransport } from '../transport/memory.ts';
import { startFakeGateway, type FakeGateway } from './support/fake-gateway.ts';
import { collectEnds, envelopeBody, startActor, startTestCrew, type Actor } from './support/pipeline.ts';

describe('reading a crew answer', () => {
  const own = 'asya-error-end';
  test('publish targets must be asya- queues other than the end actor itself; delays non-negative', () => {
    expect(readEndActorResponse({ final_reported: true, publish: [{ queue: 'asya-a', envelope: { id: 'x' }, delay_ms: 5 }], storage_uri: 'u' }, own)).toEqual({
      finalReported: true,
      publish: [{ queue: 'asya-a', envelope: { id: 'x' }, delay_ms: 5 }],
      metadata: { storage_uri: 'u' },
    });
    expect(readEndActorResponse({}, own)).toEqual({ finalReported: false, publish: [] });
    expect(readEndActorResponse(undefined, own)).toEqual({ finalReported: false, publish: [] });
    expect(readEndActorResponse({ publish: [{ queue: own, envelope: {} }] }, own)).toEqual({ error: expect.stringMatching(/own queue/) });
    expect(readEndActorResponse({ publish: [{ queue: 'elsewhere', envelope: {} }] }, own)).toEqual({ error: expect.stringMatching(/not an asya- queue/) });
    expect(readEndActorResponse({ publish: [{ queue: 'asya-a', envelope: {}, delay_ms: -1 }] }, own)).toEqual({ error: expect.stringMatching(/delay_ms/) });
    expect(readEndActorResponse({ publish: 'asya-a' }, own)).toEqual({ error: expect.stringMatching(/list/) });
    expect(readEndActorResponse({ final_reported: 'yes' }, own)).toEqual({ error: expect.stringMatching(/boolean/) });
  });

  test('ASYA_RETRY_POLICY is validated with the AsyncActor schema and defaulted', () => {
    expect(loadSidecarConfig({ ASYA_ACTOR_NAME: 'a', ASYA_RETRY_POLICY: '{"maxAttempts":5}' }).retryPolicy).toEqual({ ...DEFAULT_RETRY_POLICY, maxAttempts: 5 });
    expect(loadSidecarConfig({ ASYA_ACTOR_NAME: 'a' }).retryPolicy).toBeUndefined();
    expect(() => loadSidecarConfig({ ASYA_ACTOR_NAME: 'a', ASYA_RETRY_POLICY: '{"multiplier":0.5}' })).toThrow(/Invalid ASYA_RETRY_POLICY: multiplier/);
    expect(() => loadSidecarConfig({ ASYA_ACTOR_NAME: 'a', ASYA_RETRY_POLICY: 'three' })).toThrow(/not JSON/);
  });
});

describe('an end-actor sidecar and its handler', () => {
  const transport = new MemoryTransport();
  let gateway: FakeGateway;
  let ends: Awaited<ReturnType<typeof collectEnds>>;
  const actors: Actor[] = [];
  const endActor = async (role: 'happy-end' | 'error-end') => {
    const a = await startActor(transport, `${role}-${randomUUID().slice(0, 8)}`, {
      kind: 'node',
      fixture: 'passthrough',
      runtimeEnv: { ASYA_HANDLER_MODE: 'envelope', ASYA_ENABLE_VALIDATION: 'false' },
      sidecarEnv: { ASYA_IS_END_ACTOR: 'true', ASYA_GATEWAY_URL: gateway.url, ...(role === 'happy-end' ? { ASYA_ACTOR_HAPPY_END: 'x' } : {}) },
    });
    actors.push(a);
    return a;
  };
  const finals = (id: string) => gateway.requests.filter((r) => r.path === `/envelopes/${id}/final`);

  beforeAll(async () => {
    gateway = await startFakeGateway();
    ends = await collectEnds(transport, [], true);
  });
  afterEach(async () => {
    await Promise.all(actors.splice(0).map((a) => a.stop()));
    gateway.status = 200;
  });
  afterAll(async () => {
    await ends.stop();
    await gateway.close();
    await transport.close();
  });

  test('publish (with a delay) before the ack; final_reported: no final from the sidecar', async () => {
    const end = await endActor('error-end');
    const target = `asya-target-${randomUUID().slice(0, 8)}`;
    await transport.ensureQueue(target);
    const got: unknown[] = [];
    await transport.consume(target, async (d) => {
      got.push(JSON.parse(d.body.toString()));
      await transport.ack(d);
    });
    const id = randomUUID();
    const payload = { final_reported: true, publish: [{ queue: target, envelope: { id, n: 1 }, delay_ms: 150 }] };
    await transport.publish(queueName(end.name), envelopeBody(id, ['a'], payload));
    await expect.poll(() => got).toEqual([{ id, n: 1 }]);
    await expect.poll(() => transport.queueDepth(queueName(end.name)).then((d) => d.ready + d.inFlight)).toBe(0);
    expect(finals(id)).toEqual([]);
  });

  test('a publish to its own queue or outside asya- is refused: no loop, the message ends in its DLQ', async () => {
    const end = await endActor('error-end');
    const own = queueName(end.name);
    const ids = [randomUUID(), randomUUID()];
    await transport.publish(own, envelopeBody(ids[0]!, ['a'], { publish: [{ queue: own, envelope: { id: ids[0] } }] }));
    await transport.publish(own, envelopeBody(ids[1]!, ['a'], { publish: [{ queue: 'not-ours', envelope: { id: ids[1] } }] }));
    await expect.poll(() => transport.queueDepth(`${own}-dlq`).then((d) => d.ready), { timeout: 15_000 }).toBe(2);
    expect(await transport.queueDepth(own)).toMatchObject({ ready: 0, inFlight: 0, delayed: 0 });
    expect(finals(ids[0]!)).toEqual([]);
  });

  test("the failing actor's sidecar attaches its retry policy to the error envelope, and keeps the attempts header", async () => {
    const a = await startActor(transport, `strict-${randomUUID().slice(0, 8)}`, {
      kind: 'node',
      fixture: 'fail',
      sidecarEnv: { ...ends.sidecarEnv, ASYA_RETRY_POLICY: '{"maxAttempts":4,"initialDelaySeconds":0.1}' },
    });
    actors.push(a);
    const id = randomUUID();
    await transport.publish(queueName(a.name), envelopeBody(id, [a.name], {}, { headers: { [ATTEMPTS_HEADER]: { [a.name]: 1 } } }));
    await ends.waitForIds([id]);
    expect(ends.byId(id)[0]!.envelope.headers).toEqual({
      [ATTEMPTS_HEADER]: { [a.name]: 1 },
      [RETRY_POLICY_HEADER]: { ...DEFAULT_RETRY_POLICY, maxAttempts: 4, initialDelaySeconds: 0.1 },
    });
  });
});

describe('asya crew on the memory transport', () => {
  test('a gateway that refuses finals for longer than three deliveries: the envelope waits, is not dead-lettered, and is reported once the gateway is back', async () => {
    const transport = new MemoryTransport();
    const gateway = await startFakeGateway();
    const results = mkdtempSync(join(tmpdir(), 'asya-crew-mem-'));
    const name = `happy-end-${randomUUID().slice(0, 8)}`;
    const crew = await startTestCrew('happy-end', {
      transport,
      env: { ...process.env, ASYA_ACTOR_HAPPY_END: name, ASYA_RESULTS_DIR: results, ASYA_GATEWAY_URL: gateway.url, ASYA_METRICS_ENABLED: 'false', ASYA_LOG_LEVEL: 'ERROR' },
    });
    try {
      gateway.status = 503;
      const id = randomUUID();
      await transport.publish(queueName(name), envelopeBody(id, ['a'], { ok: true }, { route: { actors: ['a'], current: 1 } }));
      // More than 15 refused reports: with a requeue per refusal (the old way) that was past the dead-letter
      // limit of three deliveries; now the one delivery is held.
      await expect.poll(() => gateway.requests.length, { timeout: 40_000 }).toBeGreaterThan(15);
      gateway.status = 200;
      await expect.poll(() => transport.queueDepth(queueName(name)).then((d) => d.ready + d.inFlight), { timeout: 20_000 }).toBe(0);
      expect((await transport.queueDepth(`${queueName(name)}-dlq`)).ready).toBe(0);
      const accepted = gateway.requests.filter((r) => r.path === `/envelopes/${id}/final`).slice(-1);
      expect(accepted).toEqual([expect.objectContaining({ body: expect.objectContaining({ status: 'succeeded', result: { ok: true } }) })]);
    } finally {
      await crew.stop();
      await gateway.close();
      rmSync(results, { recursive: true, force: true });
    }
  }, 90_000);
});
