import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, takePublished } from '../../test/support/gateway-harness.ts';
import { startRestFixture, TOOLS, type RestFixture } from '../../test/support/rest-fixture.ts';
import { expectProcessMetrics } from '../../test/support/process-metrics.ts';

let f: RestFixture;
let gw: RestFixture['gw'];
let transport: RestFixture['transport'];
let sidecar: RestFixture['sidecar'];
let request: RestFixture['request'];
let call: RestFixture['call'];

beforeAll(async () => {
  f = await startRestFixture('rest_edges');
  ({ gw, transport, sidecar, request, call } = f);
});

afterAll(async () => {
  await f?.stop();
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

  it("keeps a child's final that comes before anything else about it, nested too, and settles when registered", async () => {
    const id = (await call('pipeline', { value: 4 })).parsed?.envelope_id as string;
    const actors = (await takePublished(transport, 'doubler')).route.actors;
    const [child, grandchild] = [`${id}-0`, `${id}-0-0`];
    // happy-end reports the grandchild before either fan-out sidecar's registration reached us.
    expect(await sidecar.final(grandchild, { status: 'succeeded', result: 'leaf' })).toEqual({ status: 200, body: { status: 'ok' } });
    expect((await request('GET', `/envelopes/${grandchild}`)).json).toMatchObject({ status: 'succeeded', result: 'leaf', route: { actors } });
    expect(await sidecar.post('/envelopes', { id: child, parent_id: id, actors, current: 1, index: 0, count: 1 })).toMatchObject({ status: 201 });
    expect((await request('GET', `/envelopes/${id}`)).json.status).not.toBe('succeeded');
    expect(await sidecar.post('/envelopes', { id: grandchild, parent_id: child, actors, current: 2, index: 0, count: 1 })).toMatchObject({ status: 201 });
    expect((await request('GET', `/envelopes/${id}`)).json).toMatchObject({ status: 'succeeded', result: [['leaf']] });
    // An id that names no known envelope, not even by the fan-out scheme, is still unknown.
    expect((await sidecar.final('nobody-knows-7', { status: 'succeeded' })).status).toBe(404);
    expect((await sidecar.final(`${id}x-1`, { status: 'succeeded' })).status).toBe(404);
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

describe('progress in batches (POST /progress)', () => {
  const started = async () => {
    const id = (await call('echo', { message: 'm' })).parsed?.envelope_id as string;
    await takePublished(transport, 'echo');
    return id;
  };
  /** What progress changes in an envelope's view. */
  const view = async (id: string) => {
    const { status, message, progress_percent, current_actor_idx, envelope_state, actors } = (await request('GET', `/envelopes/${id}`)).json as Record<string, unknown>;
    return { status, message, progress_percent, current_actor_idx, envelope_state, actors };
  };

  it('takes each report as POST /envelopes/{id}/progress does, and answers only the ones not taken', async () => {
    const [batched, alone, finished] = [await started(), await started(), await started()];
    expect((await sidecar.final(finished, { status: 'succeeded', result: 1 })).status).toBe(200);
    const report = { actors: ['echo'], current_actor_idx: 0, status: 'processing', message: 'half way' };
    expect((await sidecar.progress(alone, ['echo'], 0, 'processing', 'half way')).status).toBe(200);
    const r = await sidecar.post('/progress', {
      reports: [
        { id: batched, ...report },
        { id: 'does-not-exist', status: 'received' },
        { id: alone, status: 'done' },
        'nope',
        { id: finished, ...report },
        { id: 'x'.repeat(600), status: 'received' },
      ],
    });
    expect(r).toEqual({
      status: 200,
      body: {
        retry: [1],
        refused: [
          { index: 2, error: expect.stringContaining('Invalid status: must be one of received, processing, completed') },
          { index: 3, error: 'Invalid report: expected an object with a string id' },
          { index: 5, error: expect.stringContaining('longer than 512') },
        ],
      },
    });
    expect(await view(batched)).toEqual(await view(alone));
    expect(await view(batched)).toMatchObject({ status: 'running', message: 'half way', current_actor_idx: 0 });
    expect(await view(finished)).toMatchObject({ status: 'succeeded', progress_percent: 100 });
  });

  it('records a fan-out child from its batched progress, as from a single report', async () => {
    const parent = await started();
    const child = `${parent}-0`;
    expect((await sidecar.post('/progress', { reports: [{ id: child, actors: ['echo'], current_actor_idx: 0, status: 'received' }] })).body).toEqual({ retry: [], refused: [] });
    expect((await request('GET', `/envelopes/${child}`)).json).toMatchObject({ id: child, status: 'running' });
  });

  it.each([
    ['not an object', 'nope', 'Invalid request body: expected a JSON object'],
    ['without reports', {}, 'Invalid reports: must be a list of progress reports'],
    ['whose reports are not a list', { reports: 'x' }, 'Invalid reports: must be a list of progress reports'],
    ['of no report', { reports: [] }, 'Invalid reports: empty'],
    ['of 257 reports', { reports: Array.from({ length: 257 }, (_, i) => ({ id: `e${i}`, status: 'received' })) }, 'Invalid reports: at most 256 in one request'],
  ])('refuses a batch %s as a whole', async (_what, body, message) => {
    const r = await sidecar.post('/progress', body);
    expect(r.status).toBe(400);
    expect((r.body as { error: string }).error).toContain(message);
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
    const small = await startTestGateway({ schema: f.schema, tools: TOOLS, transport, config: { maxBodyBytes: 1024 } });
    try {
      const big = JSON.stringify({ name: 'echo', arguments: { message: 'x'.repeat(2000) } });
      const res = await fetch(`${small.url}/tools/call`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
      expect(res.status).toBe(413);
      expect(await res.json()).toEqual({ error: 'Request body too large: the limit is 1024 bytes' });
      const mcp = await fetch(`${small.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
      expect(mcp.status).toBe(413);
      // Without a Content-Length the size is known only by reading: a chunked body is counted as it arrives.
      const chunked = (text: string) =>
        fetch(`${small.url}/tools/call`, {
          method: 'POST', headers: { 'content-type': 'application/json' }, duplex: 'half',
          body: new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode(text)); c.close(); } }),
        } as RequestInit);
      expect((await chunked(big)).status).toBe(413);
      const fits = await chunked(JSON.stringify({ name: 'echo', arguments: { message: 'small' } }));
      expect(fits.status).toBe(200);
      const id = (JSON.parse(await fits.text()) as { content: Array<{ text: string }> }).content[0]?.text;
      expect((await takePublished(transport, 'echo')).id).toBe((JSON.parse(id as string) as { envelope_id: string }).envelope_id);
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
    await call('unroutable', {});
    const text = (await request('GET', '/metrics')).text;
    expect(text).toMatch(/asya_gateway_http_requests_total\{route="\/tools\/call",method="POST",status="200"\} \d+/);
    expect(text).toMatch(/asya_gateway_tool_calls_total\{tool="echo",via="rest",outcome="created"\} \d+/);
    expect(text).toContain('asya_gateway_publish_failures_total 1');
    expectProcessMetrics(text);
  });

  it('sends no CORS headers unless origins are configured', async () => {
    const res = await fetch(`${gw.url}/envelopes`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const open = await startTestGateway({ schema: f.schema, transport, config: { corsOrigins: ['https://app.example'] } });
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
    const locked = await startTestGateway({ schema: f.schema, tools: TOOLS, transport, config: { apiToken: 'client-secret', internalToken: 'sidecar-secret' } });
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
      const batch = JSON.stringify({ reports: [{ id, ...JSON.parse(progress) }] });
      expect((await get('/progress', 'client-secret', { method: 'POST', body: batch })).status).toBe(401);
      expect((await get('/progress', 'sidecar-secret', { method: 'POST', body: batch })).status).toBe(200);
      expect((await get(`/envelopes/${id}/active`, 'sidecar-secret')).status).toBe(200);
      expect((await get(`/envelopes/${id}/replay`, 'client-secret', { method: 'POST' })).status).toBe(401);
      expect((await get(`/envelopes/${id}/replay`, 'sidecar-secret', { method: 'POST' })).status).toBe(409);
      expect((await get('/mcp', undefined, { method: 'POST', body: '{}' })).status).toBe(401);
      expect((await get('/health')).status).toBe(200);
      expect((await get('/ready')).status).toBe(200);
    } finally {
      await locked.stop();
    }
  });
});
