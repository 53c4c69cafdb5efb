/**
 * Nobody gets in by default: the internal endpoints take only the internal token, a gateway without
 * tokens must be opened explicitly, named client tokens see only their own envelopes, and the token is
 * checked before a byte of the body is read.
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../protocol/log.ts';
import type { TestSchema } from '../../test/support/postgres.ts';
import { MemoryTransport } from '../../transport/memory.ts';
import { GatewayConfigError } from '../config.ts';
import { startGateway } from '../server.ts';
import { readSse, startTestGateway, takePublished, testSchema, toolsFrom, waitUntil, type TestGateway } from '../../test/support/gateway-harness.ts';
import { TOOLS } from '../../test/support/rest-fixture.ts';

const TOKENS = {
  internalToken: 'sidecar-secret',
  apiToken: 'shared-secret',
  adminToken: 'admin-secret',
  clientTokens: { alice: 'alice-secret', bob: 'bob-secret' },
};

let schema: TestSchema;
let transport: MemoryTransport;
let gw: TestGateway;
const logged: string[] = [];
const captureLog: Logger = { debug() {}, info() {}, warn: (m) => void logged.push(m), error: (m) => void logged.push(m) };

beforeAll(async () => {
  schema = await testSchema('access');
  transport = new MemoryTransport({ logger: { info() {}, warn() {}, error() {} } });
  await transport.ensureQueue('asya-echo');
  gw = await startTestGateway({ schema, tools: TOOLS, transport, config: TOKENS, log: captureLog });
});

afterAll(async () => {
  await gw?.stop();
  await transport?.close();
  await schema?.drop();
});

async function send(method: string, path: string, token: string | undefined, body?: unknown) {
  const res = await fetch(`${gw.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : undefined) as Record<string, unknown> };
}

async function callEcho(token: string, message: string): Promise<string> {
  const res = await send('POST', '/tools/call', token, { name: 'echo', arguments: { message } });
  expect(res.status).toBe(200);
  const id = (JSON.parse((res.json.content as Array<{ text: string }>)[0]!.text) as { envelope_id: string }).envelope_id;
  await takePublished(transport, 'echo');
  return id;
}

describe('the internal endpoints take only the internal token', () => {
  it('refuses a forged final result and a forged envelope from a client token, and logs it without the token', async () => {
    const id = await callEcho(TOKENS.apiToken, 'real');
    logged.length = 0;
    const forged = await send('POST', `/envelopes/${id}/final`, TOKENS.apiToken, { status: 'succeeded', result: 'forged' });
    expect(forged.status).toBe(401);
    expect(forged.json).toEqual({ error: 'This endpoint takes the internal token (ASYA_GATEWAY_TOKEN)' });
    expect((await send('POST', `/envelopes/${id}/final`, TOKENS.clientTokens.alice, { status: 'succeeded', result: 'forged' })).status).toBe(401);
    expect((await send('POST', `/envelopes/${id}/final`, undefined, { status: 'succeeded', result: 'forged' })).status).toBe(401);
    expect((await send('POST', '/envelopes', undefined, { id: 'made-up', actors: ['echo'] })).status).toBe(401);
    expect((await send('GET', `/envelopes/${id}`, TOKENS.apiToken)).json).toMatchObject({ status: 'pending' });
    expect(await gw.store.get('made-up')).toBeUndefined();

    expect(logged).toContainEqual(expect.stringMatching(new RegExp(`^refused POST /envelopes/${id}/final \\(internal endpoint\\) from 127\\.0\\.0\\.1: a client token, not valid here$`)));
    expect(logged).toContainEqual(expect.stringMatching(/^refused POST \/envelopes \(internal endpoint\) from .*: no bearer token$/));
    expect(logged.join('\n')).not.toMatch(/secret/);

    expect((await send('POST', `/envelopes/${id}/final`, TOKENS.internalToken, { status: 'succeeded', result: 'real' })).status).toBe(200);
  });

  it('refuses to start with a client token but no internal token, or with no token and no auth=none', async () => {
    const base = { env: {}, log: captureLog, store: gw.store, transport, tools: toolsFrom(TOOLS), sweeper: false };
    await expect(startGateway({ ...base, config: { port: 0, apiToken: 'a' } })).rejects.toThrow(GatewayConfigError);
    await expect(startGateway({ ...base, config: { port: 0, apiToken: 'a' } })).rejects.toThrow(/ASYA_GATEWAY_TOKEN is not/);
    await expect(startGateway({ ...base, config: { port: 0 } })).rejects.toThrow(/no tokens configured.*ASYA_GATEWAY_AUTH=none/);
  });
});

describe('named client tokens see only their own envelopes; admin and the shared token see all', () => {
  it('isolates REST reads, lists, cancel and SSE by owner', async () => {
    const mine = await callEcho(TOKENS.clientTokens.alice, 'alice');
    const theirs = await callEcho(TOKENS.clientTokens.bob, 'bob');
    const shared = await callEcho(TOKENS.apiToken, 'shared');
    const alice = TOKENS.clientTokens.alice;

    expect((await send('GET', `/envelopes/${mine}`, alice)).json).toMatchObject({ id: mine, owner: 'alice' });
    expect(await send('GET', `/envelopes/${theirs}`, alice)).toEqual({ status: 404, json: { error: 'Envelope not found' } });
    expect((await send('GET', `/envelopes/${shared}`, alice)).status).toBe(404);
    expect((await send('GET', `/envelopes/${theirs}/active`, alice)).status).toBe(404);
    expect((await send('POST', `/envelopes/${theirs}/cancel`, alice)).status).toBe(404);
    expect((await readSse(`${gw.url}/envelopes/${theirs}/stream`, { headers: { authorization: `Bearer ${alice}` } })).status).toBe(404);
    const listed = (await send('GET', '/envelopes?tool=echo&limit=500', alice)).json.envelopes as Array<{ id: string; owner?: string }>;
    expect(listed.map((e) => e.id)).toContain(mine);
    expect(listed.every((e) => e.owner === 'alice')).toBe(true);

    for (const seesAll of [TOKENS.adminToken, TOKENS.apiToken]) {
      const all = ((await send('GET', '/envelopes?tool=echo&limit=500', seesAll)).json.envelopes as Array<{ id: string }>).map((e) => e.id);
      expect(all).toEqual(expect.arrayContaining([mine, theirs, shared]));
      expect((await send('GET', `/envelopes/${theirs}`, seesAll)).json).toMatchObject({ id: theirs, owner: 'bob' });
    }
    expect(await gw.store.get(theirs)).toMatchObject({ status: 'pending' });
    expect((await send('POST', `/envelopes/${theirs}/cancel`, TOKENS.clientTokens.bob)).json).toMatchObject({ status: 'failed', cancelled: true });
  });

  it('gives fan-out children their root owner', async () => {
    const root = await callEcho(TOKENS.clientTokens.bob, 'fan');
    const child = await send('POST', '/envelopes', TOKENS.internalToken, { id: `${root}-1`, parent_id: root, actors: ['echo'], index: 1, count: 2 });
    expect(child.status).toBe(201);
    expect((await send('GET', `/envelopes/${root}-1`, TOKENS.clientTokens.bob)).json).toMatchObject({ owner: 'bob', parent_id: root });
    expect((await send('GET', `/envelopes/${root}-1`, TOKENS.clientTokens.alice)).status).toBe(404);
  });
});

/** A raw HTTP request whose body the test writes piece by piece. */
function openUpload(path: string, headers: Record<string, string | number>): { req: ClientRequest; response: Promise<{ res: IncomingMessage; body: string }> } {
  const url = new URL(gw.url);
  const req = httpRequest({ host: url.hostname, port: url.port, method: 'POST', path, headers: { 'content-type': 'application/json', ...headers } });
  const response = new Promise<{ res: IncomingMessage; body: string }>((resolve, reject) => {
    req.once('response', (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).once('end', () => resolve({ res, body }));
    });
    req.once('error', reject);
  });
  response.catch(() => {});
  return { req, response };
}

describe('the token is checked before the body is read', () => {
  it('refuses an unauthorised chunked upload while its body is still arriving, and closes the connection', async () => {
    const { req, response } = openUpload('/tools/call', { 'transfer-encoding': 'chunked' });
    req.write('{"name": "echo", "arguments": {"message": "');
    req.write('x'.repeat(64 * 1024));
    // The body is never finished: only a gateway that answers before reading it answers at all.
    const { res, body } = await response;
    expect(res.statusCode).toBe(401);
    expect(res.headers.connection).toBe('close');
    expect(JSON.parse(body)).toEqual({ error: 'Missing bearer token (Authorization: Bearer <token>)' });
    req.destroy();
  });

  it('refuses an unauthorised declared upload the same way', async () => {
    const { req, response } = openUpload('/envelopes/x/final', { 'content-length': 5 * 1024 * 1024, authorization: 'Bearer wrong' });
    req.write('{"status": "succeeded", "result": "');
    const { res } = await response;
    expect(res.statusCode).toBe(401);
    req.destroy();
  });
});

describe('all bodies in flight share one budget', () => {
  it('answers 503 with Retry-After when the budget is held, and takes the request once it is free', async () => {
    const small = await startTestGateway({ schema, tools: TOOLS, transport, config: { ...TOKENS, maxBodyBytes: 1000, bodyBudgetBytes: 1500 } });
    const auth = { authorization: `Bearer ${TOKENS.apiToken}` };
    const inFlight = async () => {
      const text = await (await fetch(`${small.url}/metrics`)).text();
      return Number(/^asya_gateway_request_body_bytes_in_flight (\d+)/m.exec(text)?.[1]);
    };
    try {
      const body = JSON.stringify({ name: 'echo', arguments: { message: 'x'.repeat(900) } });
      const url = new URL(small.url);
      const req = httpRequest({ host: url.hostname, port: url.port, method: 'POST', path: '/tools/call', headers: { ...auth, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
      const first = new Promise<number>((resolve, reject) => {
        req.once('response', (res) => (res.resume(), resolve(res.statusCode ?? 0)));
        req.once('error', reject);
      });
      req.write(body.slice(0, 10));
      await waitUntil(async () => (await inFlight()) === Buffer.byteLength(body), 10_000, 'the first body reserved');

      const refused = await fetch(`${small.url}/tools/call`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(((await refused.json()) as { error: string }).error).toMatch(/^Gateway busy: request bodies in flight already use the budget of 1500 bytes/);
      expect(await small.gateway.deps.metrics.bodiesRefused.get()).toMatchObject({ values: [expect.objectContaining({ labels: { reason: 'budget' }, value: 1 })] });

      req.end(body.slice(10));
      expect(await first).toBe(200);
      await takePublished(transport, 'echo');
      await waitUntil(async () => (await inFlight()) === 0, 10_000, 'the budget released');
      const retried = await fetch(`${small.url}/tools/call`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body });
      expect(retried.status).toBe(200);
      await takePublished(transport, 'echo');
    } finally {
      await small.stop();
    }
  });
});
