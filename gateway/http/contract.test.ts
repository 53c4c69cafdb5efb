/**
 * The gateway answers exactly what protocol/gateway-contract.ts declares: every answer of a real gateway is
 * parsed with the contract's schema, and nothing may be left over, so a field the gateway sends but the
 * contract does not declare (or one of the wrong type) fails here rather than in a client. Requests the contract refuses are
 * refused by the gateway with the schema's own message.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  ActiveAnswer,
  ChildAnswer,
  ChildRequest,
  CreatedBody,
  EnvelopeList,
  EnvelopeUpdate,
  EnvelopeView,
  ErrorAnswer,
  FinalAnswer,
  FinalRequest,
  ProgressAnswer,
  ProgressRequest,
  ReadyAnswer,
  ReplayRequest,
  requestProblem,
  ToolResult,
  UPDATE_EVENT,
} from '../../protocol/gateway-contract.ts';
import { readSse, takePublished } from '../../test/support/gateway-harness.ts';
import { startRestFixture, type RestFixture } from '../../test/support/rest-fixture.ts';

let f: RestFixture;

beforeAll(async () => {
  f = await startRestFixture('contract');
});

afterAll(async () => {
  await f?.stop();
});

/**
 * Parsed with no room for undeclared fields at any depth: the contract's objects drop what they do not
 * declare, so anything the gateway sent beyond the contract makes the parsed value differ from the sent one.
 */
function strictly(value: unknown, schema: z.ZodType): void {
  const parsed = schema.safeParse(value);
  expect(parsed.success ? undefined : parsed.error.issues, JSON.stringify(value)).toBeUndefined();
  expect(parsed.data, 'fields the contract does not declare').toEqual(value);
}

async function createdEnvelope(tool = 'pipeline', args: Record<string, unknown> = { value: 2 }): Promise<string> {
  const called = await f.call(tool, args);
  expect(called.status).toBe(200);
  strictly(called.json, ToolResult);
  strictly(called.parsed, CreatedBody);
  return CreatedBody.parse(called.parsed).envelope_id;
}

describe('the gateway answers in the contract', () => {
  it('through a fan-out pipeline: tool call, reports, reads, list and the stream', async () => {
    const id = await createdEnvelope();
    const parent = await takePublished(f.transport, 'doubler');
    const actors = parent.route.actors;
    const progress: ProgressRequest = { actors, current_actor_idx: 0, status: 'processing', message: 'working', duration_ms: 5 };
    const answer = await f.sidecar.post(`/envelopes/${id}/progress`, progress);
    expect(answer.status).toBe(200);
    strictly(answer.body, ProgressAnswer);

    const kids = [0, 1].map((index) => ({ id: `${id}-${index}`, parent_id: id, actors, current: 1, index, count: 2 }) satisfies ChildRequest);
    for (const kid of kids) {
      const registered = await f.sidecar.post('/envelopes', kid);
      expect(registered.status).toBe(201);
      strictly(registered.body, ChildAnswer);
    }
    const ended: FinalRequest[] = [
      { status: 'succeeded', result: { n: 1 }, metadata: { s3_uri: 's3://bucket/k' } },
      { status: 'failed', error: 'boom', error_details: { type: 'ValueError' }, current_actor_name: 'incrementer', current_actor_idx: 1, actors },
    ];
    for (const [i, body] of ended.entries()) {
      const final = await f.sidecar.final(kids[i]!.id, body);
      expect(final.status).toBe(200);
      strictly(final.body, FinalAnswer);
    }
    const again = await f.sidecar.final(kids[0]!.id, { status: 'succeeded' });
    strictly(again.body, FinalAnswer);
    expect(again.body).toMatchObject({ status: 'ignored' });

    for (const envelopeId of [id, kids[0]!.id, kids[1]!.id]) strictly((await f.request('GET', `/envelopes/${envelopeId}`)).json, EnvelopeView);
    const list = await f.request('GET', `/envelopes?parent_id=${encodeURIComponent(id)}&limit=1`);
    strictly(list.json, EnvelopeList);
    expect(EnvelopeList.parse(list.json).next_cursor).toBeDefined();
    const active = await f.request('GET', `/envelopes/${id}/active`);
    strictly(active.json, ActiveAnswer);

    const stream = await readSse(`${f.gw.url}/envelopes/${encodeURIComponent(id)}/stream`);
    expect(stream.closedByServer).toBe(true);
    expect(stream.events.length).toBeGreaterThan(2);
    for (const event of stream.events) {
      expect(event.event).toBe(UPDATE_EVENT);
      strictly(JSON.parse(event.data), EnvelopeUpdate);
    }
  });

  it('for replay, cancel and the refusals that carry the envelope', async () => {
    const id = await createdEnvelope('echo', { message: 'm' });
    await takePublished(f.transport, 'echo');
    const refused = await f.sidecar.post(`/envelopes/${id}/replay`, {} satisfies ReplayRequest);
    expect(refused.status).toBe(409);
    strictly(refused.body, ErrorAnswer);
    await f.sidecar.final(id, { status: 'failed', error: 'boom' });
    const replayed = await f.sidecar.post(`/envelopes/${id}/replay`, { reason: 'again', timeout_seconds: 30 } satisfies ReplayRequest);
    expect(replayed.status).toBe(200);
    strictly(replayed.body, EnvelopeView);
    const cancelled = await f.request('POST', `/envelopes/${id}/cancel`, { reason: 'enough' });
    expect(cancelled.status).toBe(200);
    strictly(cancelled.json, EnvelopeView);
    const twice = await f.request('POST', `/envelopes/${id}/cancel`, {});
    expect(twice.status).toBe(409);
    strictly(twice.json, ErrorAnswer);
    const gone = await f.request('GET', '/envelopes/no-such-envelope/active');
    expect(gone.status).toBe(404);
    strictly(gone.json, ErrorAnswer);
  });

  it('for readiness', async () => {
    const ready = await f.request('GET', '/ready');
    expect(ready.status).toBe(200);
    strictly(ready.json, ReadyAnswer);
  });
});

describe('the gateway refuses what the contract refuses, with its message', () => {
  it.each<[string, string, z.ZodType, unknown]>([
    ['a progress report with a made-up status', '/envelopes/{id}/progress', ProgressRequest, { status: 'thinking' }],
    ['a progress report with a negative index', '/envelopes/{id}/progress', ProgressRequest, { current_actor_idx: -1 }],
    ['a final report without a status', '/envelopes/{id}/final', FinalRequest, { result: 1 }],
    ['a failed report whose actors are not names', '/envelopes/{id}/final', FinalRequest, { status: 'failed', actors: ['a', 3] }],
    ['a registration without actors', '/envelopes', ChildRequest, { id: 'x', parent_id: 'y' }],
    ['a replay with a text timeout', '/envelopes/{id}/replay', ReplayRequest, { timeout_seconds: 'soon' }],
  ])('%s', async (_what, path, schema, body) => {
    const id = await createdEnvelope('echo', { message: 'm' });
    await takePublished(f.transport, 'echo');
    const parsed = schema.safeParse(body);
    expect(parsed.success).toBe(false);
    const answer = await f.sidecar.post(path.replace('{id}', id), body);
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: requestProblem(parsed.error!) });
  });

  it('keeps reading a succeeded report leniently, as the original did (failure fields are not looked at)', async () => {
    const id = await createdEnvelope('echo', { message: 'm' });
    await takePublished(f.transport, 'echo');
    expect(FinalRequest.safeParse({ status: 'succeeded', error: 5 }).success).toBe(true);
    expect((await f.sidecar.post(`/envelopes/${id}/final`, { status: 'succeeded', error: 5 })).status).toBe(200);
  });
});
