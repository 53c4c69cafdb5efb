/**
 * The gateway's side of a pause, on PostgreSQL with the memory transport: what POST /envelopes/{id}/pause
 * takes and refuses, a cancel of a paused envelope, and a resume whose publish the resuming call never made
 * (it died after the commit): the relay publishes it once the lease runs out. And the gateway's longest pause,
 * which ends a pause nobody answers.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueName } from '../protocol/queues.ts';
import type { TestSchema } from '../test/support/postgres.ts';
import { Sidecar, startTestGateway, takePublished, testSchema, waitUntil, type TestGateway } from '../test/support/gateway-harness.ts';
import { pauseTimeoutSeconds } from './core/pause.ts';

let schema: TestSchema;
let gw: TestGateway;
let sidecar: Sidecar;

beforeAll(async () => {
  schema = await testSchema('pause');
  gw = await startTestGateway({ schema, config: { outboxIntervalMs: 100 } });
  sidecar = new Sidecar(gw.url);
  await gw.transport.ensureQueue(queueName('paint'));
});

afterAll(async () => {
  await gw?.stop();
  await schema?.drop();
});

const pauseBody = (id: string, extra: Record<string, unknown> = {}) => ({
  prompt: 'Pick a colour',
  actor: 'ask',
  queue: queueName('paint'),
  envelope: { id, route: { actors: ['ask', 'paint'], current: 1 }, payload: { wall: 'north' } },
  ...extra,
});

async function created(): Promise<string> {
  const id = `pause-${randomUUID()}`;
  await gw.store.create({ id, actors: ['ask', 'paint'], payload: { wall: 'north' } });
  return id;
}

describe('POST /envelopes/{id}/pause', () => {
  it('pauses once; the same report again is answered already_paused and changes nothing', async () => {
    const id = await created();
    expect(await sidecar.post(`/envelopes/${id}/pause`, pauseBody(id))).toEqual({ status: 200, body: { status: 'paused', id } });
    const version = (await gw.store.get(id))!.version;
    expect(await sidecar.post(`/envelopes/${id}/pause`, pauseBody(id))).toEqual({ status: 200, body: { status: 'already_paused', id } });
    expect((await gw.store.get(id))!).toMatchObject({ status: 'paused', version, message: 'Paused at ask: Pick a colour' });
  });

  it('refuses a schema that is not one, and a default its schema refuses, naming why; the envelope is untouched', async () => {
    const id = await created();
    const badSchema = await sidecar.post(`/envelopes/${id}/pause`, pauseBody(id, { schema: { type: 'colour' } }));
    expect(badSchema.status).toBe(400);
    expect((badSchema.body as { error: string }).error).toMatch(/^pause schema is not a valid JSON Schema: /);
    const badDefault = await sidecar.post(`/envelopes/${id}/pause`, pauseBody(id, { schema: { type: 'string', enum: ['red', 'blue'] }, default: 'green' }));
    expect(badDefault.status).toBe(400);
    expect((badDefault.body as { error: string }).error).toMatch(/^pause default does not match its schema: .*allowed values/);
    expect((await gw.store.get(id))!.status).toBe('pending');
  });

  it('answers 404 for an unknown envelope and 409 for a final one', async () => {
    const unknown = `pause-unknown-${randomUUID()}`;
    expect((await sidecar.post(`/envelopes/${unknown}/pause`, pauseBody(unknown))).status).toBe(404);
    const id = await created();
    await gw.store.cancel(id);
    expect(await sidecar.post(`/envelopes/${id}/pause`, pauseBody(id))).toEqual({
      status: 409,
      body: { error: 'Envelope cannot pause: envelope is already failed', envelope_status: 'failed' },
    });
  });

  it('lets a paused envelope be cancelled', async () => {
    const id = await created();
    await sidecar.post(`/envelopes/${id}/pause`, pauseBody(id));
    const res = await fetch(`${gw.url}/envelopes/${id}/cancel`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect((await gw.store.get(id))!).toMatchObject({ status: 'failed', cancelled: true });
  });
});

describe('resume publishing', () => {
  it('publishes a resume whose caller never did, once its lease ran out (the relay), with the input in the payload', async () => {
    const id = await created();
    await sidecar.post(`/envelopes/${id}/pause`, pauseBody(id, { input_key: 'colour' }));
    // What a gateway that died right after the commit leaves behind: the resume recorded, nothing published.
    const resumed = await gw.store.resume(id, { input: 'red', via: 'test', leaseMs: 0 });
    expect(resumed).toMatchObject({ outcome: 'applied', envelope: { status: 'running', message: 'Resumed (test)' } });
    const published = await takePublished(gw.transport, 'paint');
    expect(published).toEqual({ id, route: { actors: ['ask', 'paint'], current: 1 }, payload: { wall: 'north', colour: 'red' } });
    // Published once: the relay let go of it.
    expect(await gw.store.claimResumes(0)).toEqual([]);
  });

  it('fails the envelope when the broker refuses the resumed envelope for good (its queue does not exist)', async () => {
    const id = await created();
    await sidecar.post(`/envelopes/${id}/pause`, pauseBody(id, { queue: queueName(`gone-${randomUUID()}`) }));
    const res = await fetch(`${gw.url}/envelopes/${id}/resume`, { method: 'POST', body: JSON.stringify({ input: 'red' }) });
    expect(res.status).toBe(200);
    expect((await gw.store.get(id))!).toMatchObject({ status: 'failed', error: expect.stringMatching(/^failed to send resumed envelope to asya-gone-.*does not exist/) });
    expect(await gw.store.claimResumes(0)).toEqual([]);
  });
});

describe('the longest pause (ASYA_GATEWAY_PAUSE_MAX)', () => {
  let capped: TestGateway;
  let cappedSidecar: Sidecar;
  beforeAll(async () => {
    capped = await startTestGateway({ schema, sweeper: true, config: { pauseMaxMs: 1000, sweepIntervalMs: 100 } });
    cappedSidecar = new Sidecar(capped.url);
    await capped.transport.ensureQueue(queueName('paint'));
  });
  afterAll(async () => {
    await capped?.stop();
  });

  it('gives a pause without a timeout, and one with a longer timeout, the gateway longest, and ends them there', async () => {
    const ids = [await created(), await created()];
    await cappedSidecar.post(`/envelopes/${ids[0]}/pause`, pauseBody(ids[0]!));
    await cappedSidecar.post(`/envelopes/${ids[1]}/pause`, pauseBody(ids[1]!, { timeout_seconds: 86_400 }));
    for (const id of ids) {
      const view = (await (await fetch(`${capped.url}/envelopes/${id}/pause`)).json()) as { timeout_seconds?: number; expires_at?: string };
      expect(view.timeout_seconds).toBe(1);
      expect(view.expires_at).toEqual(expect.any(String));
    }
    await waitUntil(async () => (await Promise.all(ids.map((id) => capped.store.get(id)))).every((e) => e?.status === 'failed'), 20_000, 'both pauses to end');
    for (const id of ids) {
      expect((await capped.store.get(id))!.error).toBe('pause timed out: no input within 1 s for "Pick a colour" (paused at ask)');
    }
  });

  it('keeps a shorter timeout as the handler asked, and a pause with a default resumes with it at the longest', async () => {
    const id = await created();
    await cappedSidecar.post(`/envelopes/${id}/pause`, pauseBody(id, { default: 'white' }));
    await waitUntil(async () => (await capped.store.get(id))?.status === 'running', 20_000, 'the pause to resume with its default');
    expect((await capped.store.get(id))!.message).toBe('Resumed with the default after 1 s without input');
    expect(pauseTimeoutSeconds(0.5, 1000)).toBe(0.5);
    expect(pauseTimeoutSeconds(undefined, 0)).toBeUndefined();
    expect(pauseTimeoutSeconds(86_400, 0)).toBe(86_400);
  });
});
