import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takePublished } from '../../test/support/gateway-harness.ts';
import { startRestFixture, type RestFixture } from '../../test/support/rest-fixture.ts';

let f: RestFixture;
let gw: RestFixture['gw'];
let transport: RestFixture['transport'];
let sidecar: RestFixture['sidecar'];
let request: RestFixture['request'];
let call: RestFixture['call'];

beforeAll(async () => {
  f = await startRestFixture('rest');
  ({ gw, transport, sidecar, request, call } = f);
});

afterAll(async () => {
  await f?.stop();
});

describe('POST /tools/call', () => {
  it("answers the original's CallToolResult and publishes the envelope to the first actor", async () => {
    const before = Date.now();
    const res = await call('echo', { message: 'hi' }, { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
    const after = Date.now();
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ content: [{ type: 'text', text: expect.any(String) }] });
    const id = res.parsed?.envelope_id as string;
    // Keys in Go's sorted order, compact; no stream_url for a tool without progress.
    expect(res.content[0]!.text).toBe(
      `{"envelope_id":"${id}","message":"Envelope created successfully","metadata":{"team":"search"},"status_url":"/envelopes/${id}"}`,
    );
    const published = await takePublished(transport, 'echo');
    expect(published).toEqual({
      id,
      route: { actors: ['echo'], current: 0, metadata: { job_id: id } },
      headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      payload: { message: 'hi' },
      deadline: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    });
    // The tool's 60 s from the moment of the call, rounded up to whole seconds: bracketed by the clock
    // before and after the call, not by a margin.
    const deadline = Date.parse(published.deadline as string);
    expect(deadline).toBeGreaterThanOrEqual(before + 60_000);
    expect(deadline).toBeLessThanOrEqual(Math.ceil(after / 1000) * 1000 + 60_000);
  });

  it('gives progress tools a stream_url, fills defaults, and omits the deadline when the timeout is 0', async () => {
    const res = await call('pipeline', { value: 5 });
    const id = res.parsed?.envelope_id as string;
    expect(res.parsed).toEqual({
      envelope_id: id, message: 'Envelope created successfully', status_url: `/envelopes/${id}`, stream_url: `/envelopes/${id}/stream`,
    });
    expect((await takePublished(transport, 'doubler')).payload).toEqual({ value: 5, mode: 'fast' });
    const untimed = await call('untimed', null);
    const published = await takePublished(transport, 'echo');
    expect(published.id).toBe(untimed.parsed?.envelope_id);
    expect(published).not.toHaveProperty('deadline');
    expect((await request('GET', `/envelopes/${published.id}`)).json).toMatchObject({ deadline: '0001-01-01T00:00:00Z' });
  });

  it('answers bad arguments with isError and a clear message (HTTP 200, as the original)', async () => {
    const missing = await call('echo', {});
    expect(missing.status).toBe(200);
    expect(missing.json).toEqual({ content: [{ type: 'text', text: 'missing required parameter: message' }], isError: true });
    const wrong = await call('pipeline', { value: 'five', mode: 'medium' });
    expect(wrong.json.isError).toBe(true);
    expect(wrong.content[0]!.text).toBe(
      'invalid parameter value: expected an integer, got the string "five"; invalid parameter mode: must be one of "fast", "slow"; got "medium"',
    );
    expect((await call('echo', ['x'])).content[0]!.text).toBe('arguments must be an object, got an array');
  });

  it('marks the envelope failed when the transport refuses it, and says so', async () => {
    const res = await call('unroutable', {});
    expect(res.json.isError).toBe(true);
    expect(res.content[0]!.text).toMatch(/^failed to send envelope: .*\(envelope [0-9a-f-]{36}\)$/);
    const id = /envelope ([0-9a-f-]{36})/.exec(res.content[0]!.text)![1]!;
    expect((await request('GET', `/envelopes/${id}`)).json).toMatchObject({ status: 'failed', error: expect.stringMatching(/^failed to send envelope/) });
  });

  it.each([
    ['unknown tool', { name: 'nope', arguments: {} }, 404, 'Tool "nope" not found'],
    ['unknown tool with a megabyte of name, not echoed whole', { name: 'n'.repeat(1024 * 1024) }, 404, `Tool "${'n'.repeat(100)}... (1048576 characters)" not found`],
    ['no name', { arguments: {} }, 400, 'Tool name is required'],
    ['empty name', { name: '' }, 400, 'Tool name is required'],
    ['name of the wrong type', { name: 5 }, 400, 'Invalid request body: name must be a string'],
    ['not an object', [1, 2], 400, 'Invalid request body: expected {"name": ..., "arguments": {...}}'],
    ['broken JSON', '{"name": ', 400, 'Invalid request body: '],
    ['empty body', '', 400, 'Invalid request body: empty'],
  ])('rejects %s with a JSON error', async (_what, body, status, message) => {
    const res = await request('POST', '/tools/call', body);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(String(res.json.error)).toContain(message);
  });

  it('answers 405 for other methods on known paths', async () => {
    const res = await request('GET', '/tools/call');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(res.json.error).toBe('Method not allowed: GET /tools/call (allowed: POST)');
    expect((await request('PUT', '/envelopes/x/final', {})).status).toBe(405);
    expect((await request('GET', '/nothing/here')).json).toEqual({ error: 'Not found: GET /nothing/here' });
  });
});

describe('envelope lifecycle over REST', () => {
  it('follows a two-actor pipeline: honest progress, the final result, the original JSON', async () => {
    const created = await call('pipeline', { value: 10 });
    const envelope = await takePublished(transport, 'doubler');
    const id = envelope.id;
    expect((await request('GET', `/envelopes/${id}`)).json).toEqual({
      id, status: 'pending',
      route: { actors: ['doubler', 'incrementer'], current: 0, metadata: { job_id: id } },
      payload: { value: 10, mode: 'fast' }, timeout_seconds: 60,
      deadline: expect.stringMatching(/Z$/), progress_percent: 0, current_actor_idx: 0, current_actor_name: 'doubler',
      actors_completed: 0, total_actors: 2,
      created_at: expect.any(String), updated_at: expect.any(String), tool_name: 'pipeline',
    });
    expect(created.parsed?.envelope_id).toBe(id);
    const seen: number[] = [];
    for (const [idx, state] of [[0, 'received'], [0, 'processing'], [1, 'completed'], [1, 'received'], [1, 'processing'], [2, 'completed']] as const) {
      const r = await sidecar.progress(id, envelope.route.actors, idx, state);
      expect(r.status).toBe(200);
      seen.push((r.body as { progress_percent: number }).progress_percent);
    }
    expect(seen).toEqual([5, 25, 50, 55, 75, 99]);
    // Both actors are done; only happy-end's report is missing, so it is not 100% yet.
    expect((await request('GET', `/envelopes/${id}`)).json).toMatchObject({ status: 'running', actors_completed: 2, progress_percent: 99 });
    expect((await sidecar.final(id, { status: 'succeeded', result: { value: 25 }, metadata: { s3_uri: 's3://results/x' } })).body).toEqual({ status: 'ok' });
    expect((await request('GET', `/envelopes/${id}`)).json).toMatchObject({
      status: 'succeeded', progress_percent: 100, result: { value: 25 }, actors_completed: 2,
      message: 'Envelope completed successfully, results stored at s3://results/x',
    });
  });

  it("records error-end's report: message, error, and details replacing the result", async () => {
    const id = (await call('echo', { message: 'x' })).parsed?.envelope_id as string;
    await takePublished(transport, 'echo');
    const r = await sidecar.final(id, {
      status: 'failed', error: 'processing_error', error_details: { message: 'boom', type: 'ValueError' },
      actors: ['echo'], current_actor_idx: 0, current_actor_name: 'echo',
    });
    expect(r).toEqual({ status: 200, body: { status: 'ok' } });
    expect((await request('GET', `/envelopes/${id}`)).json).toMatchObject({
      status: 'failed', error: 'processing_error', message: "Envelope failed at actor 'echo': processing_error",
      result: { error: 'processing_error', details: { message: 'boom', type: 'ValueError' }, failed_actor: 'echo', failed_actor_idx: 0, route: ['echo'] },
    });
  });

  it('changes nothing on a late progress or a second final, and answers 200 so senders stop retrying', async () => {
    const id = (await call('echo', { message: 'late' })).parsed?.envelope_id as string;
    await takePublished(transport, 'echo');
    await sidecar.final(id, { status: 'failed', error: 'Runtime timeout exceeded' });
    const before = (await request('GET', `/envelopes/${id}`)).json;
    expect(await sidecar.progress(id, ['echo'], 0, 'processing')).toEqual({
      status: 200, body: { status: 'ignored', reason: 'envelope is already failed', progress_percent: 0 },
    });
    expect(await sidecar.final(id, { status: 'succeeded', result: 1 })).toEqual({ status: 200, body: { status: 'ignored', reason: 'envelope is already failed' } });
    expect((await request('GET', `/envelopes/${id}`)).json).toEqual(before);
    expect(before).toMatchObject({ status: 'failed', message: 'Envelope failed: Runtime timeout exceeded' });
  });

  it('reports activity: 200 while running, 410 once final, 404 for an id that never existed', async () => {
    const id = (await call('echo', { message: 'a' })).parsed?.envelope_id as string;
    await takePublished(transport, 'echo');
    expect(await request('GET', `/envelopes/${id}/active`)).toMatchObject({ status: 200, json: { active: true } });
    await sidecar.final(id, { status: 'succeeded' });
    expect(await request('GET', `/envelopes/${id}/active`)).toMatchObject({ status: 410, json: { active: false } });
    expect(await request('GET', '/envelopes/never/active')).toMatchObject({ status: 404, json: { active: false, error: 'Envelope not found' } });
  });

  it('cancels an unfinished envelope once; a second cancel is a conflict', async () => {
    const id = (await call('echo', { message: 'c' })).parsed?.envelope_id as string;
    await takePublished(transport, 'echo');
    const first = await request('POST', `/envelopes/${id}/cancel`, { reason: 'user changed their mind' });
    expect(first).toMatchObject({ status: 200, json: { status: 'failed', cancelled: true, error: 'envelope cancelled: user changed their mind' } });
    const second = await request('POST', `/envelopes/${id}/cancel`);
    expect(second).toMatchObject({ status: 409, json: { error: 'Envelope is already failed', envelope: { id } } });
    expect((await request('POST', '/envelopes/never/cancel')).status).toBe(404);
    expect((await request('POST', `/envelopes/${id}/cancel`, { reason: 7 })).status).toBe(400);
  });
});

describe('POST /envelopes/{id}/replay', () => {
  it('reopens a failed envelope with an audited event; its next final applies', async () => {
    const id = (await call('echo', { message: 'again' })).parsed?.envelope_id as string;
    await takePublished(transport, 'echo');
    await sidecar.progress(id, ['echo'], 0, 'processing');
    await sidecar.final(id, { status: 'failed', error: 'processing_error', error_details: { message: 'boom' } });
    const replayed = await request('POST', `/envelopes/${id}/replay`, { reason: 'asya dlq replay (1st)' });
    expect(replayed).toMatchObject({
      status: 200,
      json: { id, status: 'running', progress_percent: 50, message: 'Envelope replayed: asya dlq replay (1st)', deadline: '0001-01-01T00:00:00Z' },
    });
    expect(replayed.json).not.toHaveProperty('error');
    expect(replayed.json).not.toHaveProperty('result');
    expect(await sidecar.final(id, { status: 'succeeded', result: { message: 'again' } })).toEqual({ status: 200, body: { status: 'ok' } });
    expect((await request('GET', `/envelopes/${id}`)).json).toMatchObject({ status: 'succeeded', progress_percent: 100, result: { message: 'again' } });
  });

  it('refuses anything but a failed envelope with 409, unknown ids with 404, bad bodies with 400', async () => {
    const id = (await call('echo', { message: 'r' })).parsed?.envelope_id as string;
    await takePublished(transport, 'echo');
    expect(await request('POST', `/envelopes/${id}/replay`)).toMatchObject({
      status: 409, json: { error: 'Envelope cannot be replayed: envelope is pending, not failed', envelope: { id, status: 'pending' } },
    });
    await sidecar.progress(id, ['echo'], 0, 'received');
    expect((await request('POST', `/envelopes/${id}/replay`)).json).toMatchObject({ error: 'Envelope cannot be replayed: envelope is running, not failed' });
    await sidecar.final(id, { status: 'succeeded' });
    expect(await request('POST', `/envelopes/${id}/replay`)).toMatchObject({ status: 409, json: { envelope: { status: 'succeeded' } } });
    const cancelled = (await call('echo', { message: 'c' })).parsed?.envelope_id as string;
    await takePublished(transport, 'echo');
    await request('POST', `/envelopes/${cancelled}/cancel`);
    expect(await request('POST', `/envelopes/${cancelled}/replay`)).toMatchObject({ status: 409, json: { error: 'Envelope cannot be replayed: envelope was cancelled' } });
    expect(await request('POST', '/envelopes/never/replay')).toMatchObject({ status: 404, json: { error: 'Envelope not found' } });
    expect((await request('POST', `/envelopes/${id}/replay`, { reason: 7 })).status).toBe(400);
    expect((await request('POST', `/envelopes/${id}/replay`, { timeout_seconds: -1 })).status).toBe(400);
    expect((await request('GET', `/envelopes/${id}/replay`)).status).toBe(405);
  });

  it('re-arms the deadline when asked', async () => {
    const id = (await call('echo', { message: 't' })).parsed?.envelope_id as string;
    await takePublished(transport, 'echo');
    await sidecar.final(id, { status: 'failed', error: 'x' });
    const before = Date.now();
    const r = await request('POST', `/envelopes/${id}/replay`, { timeout_seconds: 120 });
    const after = Date.now();
    expect(r).toMatchObject({ status: 200, json: { status: 'running', timeout_seconds: 120 } });
    // 120 s from the replay, which happened between `before` and `after`.
    expect(Date.parse(r.json.deadline as string)).toBeGreaterThanOrEqual(before + 120_000);
    expect(Date.parse(r.json.deadline as string)).toBeLessThanOrEqual(after + 120_000);
  });
});

describe('listing', () => {
  it('filters by tool and status and pages with a cursor', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await call('untimed', {})).parsed?.envelope_id as string);
      await takePublished(transport, 'echo');
    }
    await sidecar.final(ids[0]!, { status: 'succeeded' });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await request('GET', `/envelopes?tool=untimed&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...(page.json.envelopes as Array<{ id: string }>).map((e) => e.id));
      cursor = page.json.next_cursor as string | undefined;
    } while (cursor);
    expect(seen.slice(0, 3)).toEqual([...ids].reverse());
    const done = await request('GET', '/envelopes?tool=untimed&status=succeeded');
    expect((done.json.envelopes as Array<{ id: string }>).map((e) => e.id)).toContain(ids[0]);
    expect((done.json.envelopes as Array<{ status: string }>).every((e) => e.status === 'succeeded')).toBe(true);
  });

  it.each([
    ['status=done', 'unknown status in done'],
    ['limit=0', 'Invalid limit: expected 1 to 500'],
    ['limit=many', 'Invalid limit'],
    ['created_from=yesterday', 'Invalid created_from: expected an RFC 3339 timestamp'],
    ['cursor=garbage', 'invalid list cursor'],
  ])('rejects ?%s clearly', async (query, message) => {
    const r = await request('GET', `/envelopes?${query}`);
    expect(r.status).toBe(400);
    expect(r.json.error).toContain(message);
  });
});
