import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestSchema } from '../../test/support/postgres.ts';
import { MemoryTransport } from '../../transport/memory.ts';
import { Sidecar, startTestGateway, takePublished, testSchema, type TestGateway } from '../test-harness.ts';

const TOOLS = `
defaults: {timeout: 60}
routes:
  pipeline: [doubler, incrementer]
tools:
- name: echo
  description: Echo a message
  parameters:
    message: {type: string, required: true}
  route: [echo]
  metadata: {team: search}
- name: pipeline
  parameters:
    value: {type: integer, required: true}
    mode: {type: string, options: [fast, slow], default: fast}
  route: pipeline
  progress: true
- name: untimed
  route: [echo]
  timeout: 0
- name: unroutable
  route: [nowhere]
`;

let schema: TestSchema;
let gw: TestGateway;
let transport: MemoryTransport;
let sidecar: Sidecar;

beforeAll(async () => {
  schema = await testSchema('rest');
  transport = new MemoryTransport({ logger: { info() {}, warn() {}, error() {} } });
  for (const q of ['asya-echo', 'asya-doubler']) await transport.ensureQueue(q);
  gw = await startTestGateway({ schema, tools: TOOLS, transport });
  sidecar = new Sidecar(gw.url);
});

afterAll(async () => {
  await gw?.stop();
  await transport?.close();
  await schema?.drop();
});

async function request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${gw.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, json: json as Record<string, unknown>, text, headers: res.headers };
}

async function call(name: string, args: unknown, headers: Record<string, string> = {}) {
  const res = await request('POST', '/tools/call', { name, arguments: args }, headers);
  const content = (res.json as { content: Array<{ text: string }> }).content;
  return { ...res, content, parsed: (() => { try { return JSON.parse(content[0]!.text) as Record<string, unknown>; } catch { return undefined; } })() };
}

describe('POST /tools/call', () => {
  it("answers the original's CallToolResult and publishes the envelope to the first actor", async () => {
    const res = await call('echo', { message: 'hi' }, { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
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
    const deadline = Date.parse(published.deadline as string);
    expect(deadline - Date.now()).toBeGreaterThan(55_000);
    expect(deadline - Date.now()).toBeLessThanOrEqual(61_000);
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

describe('fan-out', () => {
  it('finishes the parent only after every child, with results in child order', async () => {
    const id = (await call('pipeline', { value: 1 })).parsed?.envelope_id as string;
    const parent = await takePublished(transport, 'doubler');
    const actors = parent.route.actors;
    await sidecar.progress(id, actors, 0, 'received');
    const kids = [0, 1, 2].map((i) => `${id}-${i}`);
    for (const [i, kid] of kids.entries()) {
      const r = await sidecar.post('/envelopes', { id: kid, parent_id: id, actors, current: 1, index: i, count: 3 });
      expect(r).toEqual({ status: 201, body: { status: 'created', id: kid } });
    }
    // A retried registration is harmless.
    expect(await sidecar.post('/envelopes', { id: kids[0], parent_id: id, actors, current: 1, index: 0, count: 3 })).toEqual({
      status: 200, body: { status: 'exists', id: kids[0] },
    });
    await sidecar.final(kids[2]!, { status: 'succeeded', result: 'c' });
    await sidecar.final(kids[0]!, { status: 'succeeded', result: 'a' });
    expect((await request('GET', `/envelopes/${id}`)).json.status).toBe('running');
    await sidecar.final(kids[1]!, { status: 'succeeded', result: 'b' });
    expect((await request('GET', `/envelopes/${id}`)).json).toMatchObject({ status: 'succeeded', result: ['a', 'b', 'c'], progress_percent: 100 });
    const children = (await request('GET', `/envelopes?parent_id=${encodeURIComponent(id)}`)).json.envelopes as Array<Record<string, unknown>>;
    expect(children.map((c) => [c.id, c.parent_id, c.fanout_index]).sort()).toEqual(kids.map((k, i) => [k, id, i]));
  });

  it("keeps a child's progress that arrives before its registration, and links it when that comes", async () => {
    const id = (await call('pipeline', { value: 2 })).parsed?.envelope_id as string;
    const actors = (await takePublished(transport, 'doubler')).route.actors;
    const [early, other] = [`${id}-0`, `${id}-1`];
    expect((await sidecar.progress(early, actors, 1, 'received')).body).toMatchObject({ status: 'ok' });
    expect((await request('GET', `/envelopes/${early}`)).json).toMatchObject({ status: 'running', current_actor_idx: 1 });
    expect(await sidecar.post('/envelopes', { id: early, parent_id: id, actors, current: 1, index: 0, count: 2 })).toMatchObject({ status: 201 });
    await sidecar.post('/envelopes', { id: other, parent_id: id, actors, current: 1, index: 1, count: 2 });
    await sidecar.final(early, { status: 'succeeded', result: 1 });
    await sidecar.final(other, { status: 'failed', error: 'bad' });
    expect((await request('GET', `/envelopes/${id}`)).json).toMatchObject({
      status: 'failed', error: `1 of 2 fan-out branches failed: ${other}: bad`,
    });
  });

  it("accepts the original sidecar's registration without index or count (index from the id)", async () => {
    const id = (await call('pipeline', { value: 3 })).parsed?.envelope_id as string;
    const actors = (await takePublished(transport, 'doubler')).route.actors;
    expect(await sidecar.post('/envelopes', { id: `${id}-1`, parent_id: id, actors, current: 1 })).toMatchObject({ status: 201 });
    expect((await request('GET', `/envelopes/${id}-1`)).json).toMatchObject({ parent_id: id, fanout_index: 1 });
    expect((await sidecar.post('/envelopes', { id: 'odd-child', parent_id: id, actors })).body).toEqual({
      error: 'Missing required field: index (the child id does not end in -<index>)',
    });
  });

  it.each([
    [{ parent_id: 'p', actors: ['a'] }, 400, 'Missing required field: id'],
    [{ id: 'c', parent_id: 'p' }, 400, 'Missing required field: actors'],
    [{ id: 'c', parent_id: 'no-such-parent', actors: ['a'], index: 0 }, 404, 'Parent envelope not found'],
    [{ id: 'c', actors: ['a'], index: -1 }, 400, 'index must be a non-negative integer'],
    [{ id: 'c', actors: 'a' }, 400, 'actors must be a list of actor names'],
  ])('rejects the child registration %j', async (body, status, message) => {
    const r = await sidecar.post('/envelopes', body);
    expect(r.status).toBe(status);
    expect(String((r.body as { error: string }).error)).toContain(message);
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

describe('bad input', () => {
  it('finds ids with odd characters, and 404s unknown ones', async () => {
    // ("." and ".." alone are path segments every URL parser resolves, even percent-encoded.)
    for (const id of ['a/b', 'sp ace', 'ü✓', '%41', "quote'\"", '...', 'a?b#c', 'tab\there']) {
      expect(await sidecar.post('/envelopes', { id, actors: ['a'] })).toMatchObject({ status: 201 });
      expect((await request('GET', `/envelopes/${encodeURIComponent(id)}`)).json).toMatchObject({ id });
      expect((await sidecar.progress(id, ['a'], 0, 'received')).status).toBe(200);
    }
    expect(await request('GET', '/envelopes/does-not-exist')).toMatchObject({ status: 404, json: { error: 'Envelope not found' } });
    expect((await request('GET', '/envelopes/does-not-exist/stream')).status).toBe(404);
    expect((await sidecar.final('does-not-exist', { status: 'succeeded' })).status).toBe(404);
    expect((await request('POST', '/envelopes/does-not-exist/progress', { status: 'received' })).status).toBe(404);
    expect((await request('GET', `/envelopes/${'x'.repeat(600)}`)).json.error).toContain('longer than 512');
    expect((await request('GET', '/envelopes/nul%00id')).json.error).toBe('Invalid envelope id: contains a NUL character');
  });

  it('refuses a body over the limit with 413 and a JSON error', async () => {
    const small = await startTestGateway({ schema, tools: TOOLS, transport, config: { maxBodyBytes: 1024 } });
    try {
      const big = JSON.stringify({ name: 'echo', arguments: { message: 'x'.repeat(2000) } });
      const res = await fetch(`${small.url}/tools/call`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
      expect(res.status).toBe(413);
      expect(await res.json()).toEqual({ error: 'Request body too large: the limit is 1024 bytes' });
      const mcp = await fetch(`${small.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
      expect(mcp.status).toBe(413);
    } finally {
      await small.stop();
    }
  });

  it('accepts a large body under the default limit and keeps it intact', async () => {
    const message = 'é'.repeat(2_000_000);
    const res = await call('echo', { message });
    expect(res.status).toBe(200);
    const published = await takePublished(transport, 'echo');
    expect((published.payload as { message: string }).message).toBe(message);
  });

  it.each([
    [{ status: 'done' }, 'Invalid status: must be one of received, processing, completed'],
    [{ status: 'received', current_actor_idx: -1 }, 'current_actor_idx must be a non-negative integer'],
    [{ status: 'received', current_actor_idx: '1' }, 'current_actor_idx must be a non-negative integer'],
    [{ status: 'received', actors: [1] }, 'actors must be a list of actor names'],
    [{ status: 'received', message: 5 }, 'message must be a string'],
    ['nope', 'Invalid request body: expected a JSON object'],
  ])('rejects the progress body %j', async (body, message) => {
    const r = await sidecar.post('/envelopes/some-id/progress', body);
    expect(r.status).toBe(400);
    expect((r.body as { error: string }).error).toContain(message);
  });

  it.each([
    [{ status: 'unknown_status' }, "Invalid status: must be 'succeeded' or 'failed'"],
    [{ status: '' }, "Invalid status: must be 'succeeded' or 'failed'"],
    [{ status: 'failed', error: 3 }, 'error must be a string'],
  ])('rejects the final body %j', async (body, message) => {
    const r = await sidecar.post('/envelopes/some-id/final', body);
    expect(r.status).toBe(400);
    expect((r.body as { error: string }).error).toContain(message);
  });
});

describe('health, readiness, metrics, CORS', () => {
  it('answers /health like the original and /ready from the store', async () => {
    const health = await request('GET', '/health');
    expect([health.status, health.text]).toEqual([200, 'OK\n']);
    expect((await fetch(`${gw.url}/health`, { method: 'HEAD' })).status).toBe(200);
    expect(await request('GET', '/ready')).toMatchObject({ status: 200, json: { status: 'ready' } });
  });

  it('exposes Prometheus metrics by route', async () => {
    await call('echo', { message: 'metrics' });
    await takePublished(transport, 'echo');
    const text = (await request('GET', '/metrics')).text;
    expect(text).toMatch(/asya_gateway_http_requests_total\{route="\/tools\/call",method="POST",status="200"\} \d+/);
    expect(text).toMatch(/asya_gateway_tool_calls_total\{tool="echo",via="rest",outcome="created"\} \d+/);
    expect(text).toContain('asya_gateway_publish_failures_total 1');
  });

  it('sends no CORS headers unless origins are configured', async () => {
    const res = await fetch(`${gw.url}/envelopes`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const open = await startTestGateway({ schema, transport, config: { corsOrigins: ['https://app.example'] } });
    try {
      const ok = await fetch(`${open.url}/envelopes`, { headers: { origin: 'https://app.example' } });
      expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example');
      const other = await fetch(`${open.url}/envelopes`, { headers: { origin: 'https://evil.example' } });
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await open.stop();
    }
  });
});

describe('tokens', () => {
  it('keeps client and internal endpoints apart', async () => {
    const locked = await startTestGateway({ schema, tools: TOOLS, transport, config: { apiToken: 'client-secret', internalToken: 'sidecar-secret' } });
    const get = (path: string, token?: string, init: RequestInit = {}) =>
      fetch(`${locked.url}${path}`, { ...init, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) } });
    try {
      const anonymous = await get('/envelopes');
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="asya-gateway"');
      expect(await anonymous.json()).toEqual({ error: 'Missing bearer token (Authorization: Bearer <token>)' });
      expect((await get('/envelopes', 'wrong')).status).toBe(401);
      expect((await get('/envelopes', 'sidecar-secret')).status).toBe(401);
      expect((await get('/envelopes', 'client-secret')).status).toBe(200);
      const body = JSON.stringify({ name: 'echo', arguments: { message: 'm' } });
      const created = await get('/tools/call', 'client-secret', { method: 'POST', body });
      const id = JSON.parse(((await created.json()) as { content: Array<{ text: string }> }).content[0]!.text).envelope_id as string;
      await takePublished(transport, 'echo');
      const progress = JSON.stringify({ actors: ['echo'], current_actor_idx: 0, status: 'received' });
      expect((await get(`/envelopes/${id}/progress`, 'client-secret', { method: 'POST', body: progress })).status).toBe(401);
      expect((await get(`/envelopes/${id}/progress`, 'sidecar-secret', { method: 'POST', body: progress })).status).toBe(200);
      expect((await get(`/envelopes/${id}/active`, 'sidecar-secret')).status).toBe(200);
      expect((await get('/mcp', undefined, { method: 'POST', body: '{}' })).status).toBe(401);
      expect((await get('/health')).status).toBe(200);
      expect((await get('/ready')).status).toBe(200);
    } finally {
      await locked.stop();
    }
  });
});
