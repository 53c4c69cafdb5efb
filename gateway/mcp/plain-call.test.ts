import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { TestSchema } from '../../test/support/postgres.ts';
import { MemoryTransport } from '../../transport/memory.ts';
import { startTestGateway, testSchema, type TestGateway } from '../../test/support/gateway-harness.ts';
import { IDEMPOTENCY_META_KEY, IDEMPOTENT_REPLAYED_META_KEY } from '../../protocol/gateway-contract.ts';
import * as server from './server.ts';

// Counts the SDK servers the route builds: none for a plain call, one for anything that goes through the SDK.
vi.mock('./server.ts', async (original) => {
  const actual = await original<typeof import('./server.ts')>();
  return { ...actual, buildMcpServer: vi.fn(actual.buildMcpServer) };
});

const TOOLS = `
tools:
- name: echo
  parameters:
    message: {type: string, required: true}
  route: [echo]
- name: pipeline
  parameters:
    value: {type: integer, required: true}
  route: [echo]
  progress: true
  timeout: 30
- name: lost
  parameters:
    message: {type: string}
  route: [nowhere]
`;

let schema: TestSchema;
let gw: TestGateway;
let transport: MemoryTransport;
let headers: Record<string, string>;

beforeAll(async () => {
  schema = await testSchema('mcp_plain');
  transport = new MemoryTransport({ logger: { info() {}, warn() {}, error() {} } });
  await transport.ensureQueue('asya-echo');
  gw = await startTestGateway({ schema, tools: TOOLS, transport });
  const init = await post({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'plain', version: '1' } } }, {});
  headers = { 'mcp-session-id': init.headers['mcp-session-id']!, 'mcp-protocol-version': '2025-11-25' };
});

afterAll(async () => {
  await gw?.stop();
  await transport?.close();
  await schema?.drop();
});

async function post(body: unknown, extra: Record<string, string>) {
  const res = await fetch(`${gw.url}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...extra },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: Object.fromEntries(res.headers), text: await res.text() };
}

/** What two answers may differ in: the envelope each call created, the times, and each run's own key. */
function comparable(answer: { status: number; headers: Record<string, string>; text: string }) {
  const { date: _date, 'content-length': _length, ...rest } = answer.headers;
  const text = answer.text
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>')
    .replace(/plain-key-(plain|sdk)/g, 'plain-key-<run>');
  return { status: answer.status, headers: rest, json: JSON.parse(text) as unknown };
}

const built = () => vi.mocked(server.buildMcpServer).mock.calls.length;

/** The call alone (the plain path), then as a batch of one (which goes through the SDK). */
async function bothWays(params: (run: string) => Record<string, unknown>) {
  const before = built();
  const plain = await post({ jsonrpc: '2.0', id: 41, method: 'tools/call', params: params('plain') }, headers);
  const plainBuilt = built() - before;
  const sdk = await post([{ jsonrpc: '2.0', id: 41, method: 'tools/call', params: params('sdk') }], headers);
  return { plain, sdk, plainBuilt, sdkBuilt: built() - before - plainBuilt };
}

describe('a plain tools/call answers without the SDK, exactly as the SDK would', () => {
  it.each<[string, (run: string) => Record<string, unknown>]>([
    ['an envelope created', () => ({ name: 'echo', arguments: { message: 'hi' } })],
    ['arguments the tool refuses', () => ({ name: 'echo', arguments: { message: 5 } })],
    ['an unknown tool', () => ({ name: 'nope', arguments: {} })],
    ['a malformed idempotency key', () => ({ name: 'echo', arguments: { message: 'hi' }, _meta: { [IDEMPOTENCY_META_KEY]: '' } })],
    ['a task created', () => ({ name: 'echo', arguments: { message: 'hi' }, task: { ttl: 60_000 } })],
    ['a task with arguments the tool refuses', () => ({ name: 'echo', arguments: {}, task: {} })],
    ['a route whose first queue is missing', () => ({ name: 'lost', arguments: { message: 'hi' } })],
    ['a progress tool called without a progressToken', () => ({ name: 'pipeline', arguments: { value: 1 } })],
  ])('%s', async (_what, params) => {
    const { plain, sdk, plainBuilt, sdkBuilt } = await bothWays(params);
    expect([plainBuilt, sdkBuilt]).toEqual([0, 1]);
    expect(plain.headers['content-type']).toBe('application/json');
    expect(plain.headers['mcp-session-id']).toBe(headers['mcp-session-id']);
    expect(comparable(plain)).toEqual(comparable(sdk));
  });

  it('a repeated idempotency key, and one reused for other arguments', async () => {
    const key = (run: string) => ({ [IDEMPOTENCY_META_KEY]: `plain-key-${run}` });
    await bothWays((run) => ({ name: 'echo', arguments: { message: 'once' }, _meta: key(run) }));
    const repeated = await bothWays((run) => ({ name: 'echo', arguments: { message: 'once' }, _meta: key(run) }));
    expect(comparable(repeated.plain)).toEqual(comparable(repeated.sdk));
    expect(repeated.plain.text).toContain(`"${IDEMPOTENT_REPLAYED_META_KEY}":true`);
    const conflict = await bothWays((run) => ({ name: 'echo', arguments: { message: 'other' }, _meta: key(run) }));
    expect(comparable(conflict.plain)).toEqual(comparable(conflict.sdk));
    expect(JSON.parse(conflict.plain.text)).toMatchObject({ result: { isError: true } });
  });

  it('a store that fails: -32603 with its message, both ways', async () => {
    const create = vi.spyOn(gw.store, 'create').mockRejectedValue(new Error('the database went away'));
    try {
      const { plain, sdk } = await bothWays(() => ({ name: 'echo', arguments: { message: 'hi' } }));
      expect(JSON.parse(plain.text)).toEqual({ jsonrpc: '2.0', id: 41, error: { code: -32603, message: 'the database went away' } });
      expect(comparable(plain)).toEqual(comparable(sdk));
    } finally {
      create.mockRestore();
    }
  });

  it('leaves to the SDK what is not plain: a call that waits, an SSE-only client, a refused header', async () => {
    const before = built();
    // Its stream stays open until the pipeline ends; its headers are enough here.
    const leave = new AbortController();
    const waiting = await fetch(`${gw.url}/mcp`, {
      method: 'POST', signal: leave.signal,
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'pipeline', arguments: { value: 1 }, _meta: { progressToken: 't' } } }),
    });
    expect(waiting.headers.get('content-type')).toBe('text/event-stream');
    leave.abort();
    const sseOnly = await post({ jsonrpc: '2.0', id: 8, method: 'tools/call', params: { name: 'nope', arguments: {} } }, { ...headers, accept: 'text/event-stream' });
    expect(sseOnly.headers['content-type']).toBe('text/event-stream');
    const version = await post({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hi' } } }, { ...headers, 'mcp-protocol-version': '1999-01-01' });
    expect(version.status).toBe(400);
    expect(version.text).toContain('Unsupported protocol version: 1999-01-01');
    expect(built() - before).toBe(3);
  });
});
