import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, LATEST_PROTOCOL_VERSION, McpError, type Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import type { EnvelopeStore } from '../store/index.ts';
import type { TestSchema } from '../../test/support/postgres.ts';
import { MemoryTransport } from '../../transport/memory.ts';
import { Sidecar, startTestGateway, takePublished, testSchema, waitUntil, type TestGateway } from '../../test/support/gateway-harness.ts';

const TOOLS = `
tools:
- name: echo
  description: Echo a message
  parameters:
    message: {type: string, description: What to echo, required: true}
    times: {type: integer, default: 1}
  route: [echo]
  metadata: {owner: qa}
- name: pipeline
  description: Two actors, waits when asked
  parameters:
    value: {type: integer, required: true}
  route: [doubler, incrementer]
  progress: true
  timeout: 30
`;

let schema: TestSchema;
let gw: TestGateway;
let transport: MemoryTransport;
let sidecar: Sidecar;
const clients: Client[] = [];

beforeAll(async () => {
  schema = await testSchema('mcp');
  transport = new MemoryTransport({ logger: { info() {}, warn() {}, error() {} } });
  for (const q of ['asya-echo', 'asya-doubler']) await transport.ensureQueue(q);
  gw = await startTestGateway({ schema, tools: TOOLS, transport, config: { taskPollIntervalMs: 50, retentionMs: 3_600_000 } });
  sidecar = new Sidecar(gw.url);
});

afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await gw?.stop();
  await transport?.close();
  await schema?.drop();
});

async function connect(): Promise<{ client: Client; http: StreamableHTTPClientTransport }> {
  const client = new Client({ name: 'asya-test', version: '1.0.0' });
  const http = new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`));
  await client.connect(http);
  clients.push(client);
  return { client, http };
}

/**
 * Watches the gateway's store for the calls a waiting tasks/result makes; `gatewayIsWaiting` resolves once
 * the wait has subscribed to the envelope and been handed its history, the moment from which an early
 * answer would be a bug.
 */
let storeCalls: { subscribe: MockInstance<EnvelopeStore['subscribe']>; get: MockInstance<EnvelopeStore['get']> } | undefined;
beforeEach(() => {
  storeCalls = { subscribe: vi.spyOn(gw.store, 'subscribe'), get: vi.spyOn(gw.store, 'get') };
});
afterEach(() => {
  vi.restoreAllMocks();
  storeCalls = undefined;
});

async function gatewayIsWaiting(id: string, options: { lookedUpAfterReplay?: boolean } = {}): Promise<void> {
  const { subscribe, get } = storeCalls!;
  await waitUntil(() => subscribe.mock.calls.some(([envelopeId]) => envelopeId === id), 10_000, `the gateway subscribing to ${id}`);
  const index = subscribe.mock.calls.findIndex(([envelopeId]) => envelopeId === id);
  await subscribe.mock.results[index]!.value;
  if (!options.lookedUpAfterReplay) return;
  const subscribedAt = subscribe.mock.invocationCallOrder[index]!;
  const lookup = () => get.mock.calls.findIndex(([envelopeId], i) => envelopeId === id && get.mock.invocationCallOrder[i]! > subscribedAt);
  await waitUntil(() => lookup() >= 0, 10_000, `the gateway looking up ${id} after the replayed failure`);
  await get.mock.results[lookup()]!.value;
}

const textOf = (result: unknown) => ((result as { content: Array<{ text: string }> }).content[0]?.text ?? '');

async function raw(body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${gw.url}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

async function session(protocolVersion = '2024-11-05'): Promise<Record<string, string>> {
  const init = await raw({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
  return { 'mcp-session-id': init.headers.get('mcp-session-id') as string };
}

describe('MCP over Streamable HTTP with the official client', () => {
  it('initializes a session and negotiates the latest protocol', async () => {
    const { client, http } = await connect();
    expect(client.getServerVersion()).toEqual({ name: 'asya-gateway', version: '0.1.0' });
    expect(client.getServerCapabilities()).toMatchObject({ tools: {}, tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } } });
    expect(http.sessionId).toMatch(/^mcp-session-[0-9a-f-]{36}$/);
    expect(http.protocolVersion).toBe(LATEST_PROTOCOL_VERSION);
    expect(LATEST_PROTOCOL_VERSION).toBe('2025-11-25');
    await client.ping();
  });

  it.each(['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'])('echoes protocol version %s', async (version) => {
    const res = await raw({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ jsonrpc: '2.0', id: 1, result: { protocolVersion: version, serverInfo: { name: 'asya-gateway' }, capabilities: { tools: {} } } });
  });

  it('lists the configured tools with their JSON Schema, sorted by name', async () => {
    const { client } = await connect();
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(['echo', 'pipeline']);
    expect(tools[0]).toEqual({
      name: 'echo',
      description: 'Echo a message',
      inputSchema: {
        type: 'object',
        properties: { message: { type: 'string', description: 'What to echo' }, times: { type: 'integer', default: 1 } },
        required: ['message'],
      },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
      execution: { taskSupport: 'optional' },
    });
  });

  it("calls a tool: the envelope is published and the answer has the original's shape", async () => {
    const { client } = await connect();
    const result = await client.callTool({ name: 'echo', arguments: { message: 'hello' } });
    const body = JSON.parse(textOf(result)) as Record<string, string>;
    expect(body).toEqual({
      envelope_id: expect.stringMatching(/^[0-9a-f-]{36}$/), message: 'Envelope created successfully',
      metadata: { owner: 'qa' }, status_url: `/envelopes/${body.envelope_id}`,
    });
    expect(result.isError).toBeUndefined();
    const published = await takePublished(transport, 'echo');
    expect(published).toMatchObject({ id: body.envelope_id, payload: { message: 'hello', times: 1 }, route: { actors: ['echo'], current: 0 } });
  });

  it('answers invalid arguments with isError and the reason', async () => {
    const { client } = await connect();
    const missing = await client.callTool({ name: 'echo', arguments: {} });
    expect(missing).toEqual({ content: [{ type: 'text', text: 'missing required parameter: message' }], isError: true });
    const wrong = await client.callTool({ name: 'echo', arguments: { message: 'x', times: 'twice' } });
    expect(wrong.isError).toBe(true);
    expect(textOf(wrong)).toBe('invalid parameter times: expected an integer, got the string "twice"');
  });

  it('refuses an unknown tool with JSON-RPC -32602', async () => {
    const { client } = await connect();
    const error = await client.callTool({ name: 'nope', arguments: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect(error).toMatchObject({ code: -32602, message: 'MCP error -32602: Unknown tool: nope' });
    const long = await client.callTool({ name: 'x'.repeat(1024 * 1024), arguments: {} }).catch((e: unknown) => e);
    expect(long).toMatchObject({ code: -32602, message: `MCP error -32602: Unknown tool: ${'x'.repeat(100)}... (1048576 characters)` });
  });

  it('streams notifications/progress on every actor transition, then answers with the result', async () => {
    const { client } = await connect();
    const progress: Progress[] = [];
    const calling = client.callTool({ name: 'pipeline', arguments: { value: 10 } }, CallToolResultSchema, {
      onprogress: (p) => progress.push(p),
    });
    const envelope = await takePublished(transport, 'doubler');
    await sidecar.walk(envelope, { value: 25 });
    const result = await calling;
    expect(result.isError).toBeUndefined();
    expect(JSON.parse(textOf(result))).toEqual({ envelope_id: envelope.id, status: 'succeeded', result: { value: 25 } });
    expect(result.structuredContent).toEqual({ envelope_id: envelope.id, status: 'succeeded', result: { value: 25 } });
    expect(progress.map((p) => p.progress)).toEqual([0, 5, 25, 50, 55, 75, 99, 100]);
    expect(progress.every((p) => p.total === 100)).toBe(true);
    expect(progress[1]?.message).toBe('received 0');
  });

  it('reports a failed pipeline to a waiting caller as isError', async () => {
    const { client } = await connect();
    const calling = client.callTool({ name: 'pipeline', arguments: { value: 1 } }, CallToolResultSchema, { onprogress: () => {} });
    const envelope = await takePublished(transport, 'doubler');
    await sidecar.final(envelope.id, { status: 'failed', error: 'processing_error', current_actor_name: 'doubler' });
    const result = await calling;
    expect(result.isError).toBe(true);
    expect(JSON.parse(textOf(result))).toEqual({ envelope_id: envelope.id, status: 'failed', error: 'processing_error' });
  });

  it('lets go of a waiting call when the client cancels it', async () => {
    const { client } = await connect();
    const abort = new AbortController();
    const calling = client
      .callTool({ name: 'pipeline', arguments: { value: 3 } }, CallToolResultSchema, { onprogress: () => {}, signal: abort.signal })
      .catch((e: unknown) => e);
    await takePublished(transport, 'doubler');
    await waitUntil(() => gw.gateway.deps.closers.size > 0);
    // The client cancels (notifications/cancelled in a request of its own) but keeps its session open.
    abort.abort();
    expect(await calling).toBeInstanceOf(Error);
    await waitUntil(() => gw.gateway.deps.closers.size === 0, 5000, 'the waiting call to be released');
  });

  it('does not wait without a progressToken: a progress tool then answers at once with a stream_url', async () => {
    const { client } = await connect();
    const result = await client.callTool({ name: 'pipeline', arguments: { value: 2 } });
    expect(JSON.parse(textOf(result))).toMatchObject({ message: 'Envelope created successfully', stream_url: expect.stringMatching(/\/stream$/) });
    await takePublished(transport, 'doubler');
  });
});

describe('MCP tasks backed by the envelope store', () => {
  it('runs a tool call as a task: created, working, completed, result', async () => {
    const { client } = await connect();
    const messages: string[] = [];
    let result: unknown;
    const streaming = (async () => {
      for await (const m of client.experimental.tasks.callToolStream({ name: 'pipeline', arguments: { value: 4 } }, CallToolResultSchema, { task: { ttl: 60_000 } })) {
        messages.push(m.type === 'taskCreated' || m.type === 'taskStatus' ? `${m.type}:${m.task.status}` : m.type);
        if (m.type === 'result') result = m.result;
        if (m.type === 'error') throw m.error;
      }
    })();
    const envelope = await takePublished(transport, 'doubler');
    await waitUntil(() => messages.includes('taskStatus:working'));
    const task = await client.experimental.tasks.getTask(envelope.id);
    expect(task).toMatchObject({ taskId: envelope.id, status: 'working', ttl: 3_600_000, pollInterval: 50 });
    await sidecar.walk(envelope, { value: 9 });
    await streaming;
    expect(messages[0]).toBe('taskCreated:working');
    expect(messages.slice(-2)).toEqual(['taskStatus:completed', 'result']);
    expect(JSON.parse(textOf(result))).toEqual({ envelope_id: envelope.id, status: 'succeeded', result: { value: 9 } });
    const { tasks } = await client.experimental.tasks.listTasks();
    expect(tasks.find((t) => t.taskId === envelope.id)).toMatchObject({ status: 'completed' });
  });

  it('blocks tasks/result until the envelope finishes', async () => {
    const { client } = await connect();
    const created = await client.request(
      { method: 'tools/call', params: { name: 'echo', arguments: { message: 'later' }, task: {} } },
      (await import('@modelcontextprotocol/sdk/types.js')).CreateTaskResultSchema,
    );
    const taskId = created.task.taskId;
    await takePublished(transport, 'echo');
    let done = false;
    const waiting = client.experimental.tasks.getTaskResult(taskId, CallToolResultSchema).then((r) => {
      done = true;
      return r;
    });
    await gatewayIsWaiting(taskId);
    expect(done).toBe(false);
    await sidecar.final(taskId, { status: 'succeeded', result: 'late' });
    const result = await waiting;
    expect(JSON.parse(textOf(result))).toMatchObject({ status: 'succeeded', result: 'late' });
    expect(result._meta).toEqual({ 'io.modelcontextprotocol/related-task': { taskId } });
  });

  it('after an operator replay, tasks/result waits past the old failure for the new outcome', async () => {
    const { client } = await connect();
    const created = await client.request(
      { method: 'tools/call', params: { name: 'echo', arguments: { message: 'twice' }, task: {} } },
      (await import('@modelcontextprotocol/sdk/types.js')).CreateTaskResultSchema,
    );
    const taskId = created.task.taskId;
    await takePublished(transport, 'echo');
    await sidecar.final(taskId, { status: 'failed', error: 'processing_error' });
    expect(await client.experimental.tasks.getTask(taskId)).toMatchObject({ status: 'failed' });
    expect((await sidecar.post(`/envelopes/${taskId}/replay`, {})).status).toBe(200);
    expect(await client.experimental.tasks.getTask(taskId)).toMatchObject({ status: 'working' });
    let done = false;
    const waiting = client.experimental.tasks.getTaskResult(taskId, CallToolResultSchema).then((r) => {
      done = true;
      return r;
    });
    // The old failure is in the history the wait replays: the gateway looked it up and went on waiting.
    await gatewayIsWaiting(taskId, { lookedUpAfterReplay: true });
    expect(done).toBe(false);
    await sidecar.final(taskId, { status: 'succeeded', result: 'second time' });
    expect(JSON.parse(textOf(await waiting))).toMatchObject({ status: 'succeeded', result: 'second time' });
  });

  it('cancels a working task once; unknown tasks and bad arguments are -32602', async () => {
    const { client } = await connect();
    const created = await client.request(
      { method: 'tools/call', params: { name: 'echo', arguments: { message: 'cancel me' }, task: {} } },
      (await import('@modelcontextprotocol/sdk/types.js')).CreateTaskResultSchema,
    );
    await takePublished(transport, 'echo');
    const cancelled = await client.experimental.tasks.cancelTask(created.task.taskId);
    expect(cancelled).toMatchObject({ taskId: created.task.taskId, status: 'cancelled', statusMessage: 'envelope cancelled: cancelled by the MCP client' });
    await expect(client.experimental.tasks.cancelTask(created.task.taskId)).rejects.toMatchObject({
      code: -32602, message: 'MCP error -32602: Cannot cancel task in terminal status: cancelled',
    });
    await expect(client.experimental.tasks.getTask('no-such-task')).rejects.toMatchObject({ code: -32602, message: 'MCP error -32602: Task not found: no-such-task' });
    const bad = await client
      .request({ method: 'tools/call', params: { name: 'echo', arguments: {}, task: {} } }, (await import('@modelcontextprotocol/sdk/types.js')).CreateTaskResultSchema)
      .catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: -32602, message: 'MCP error -32602: Invalid arguments for tool echo: missing required parameter: message' });
  });

  it('lists tasks newest first, pages with a cursor, and refuses a bad cursor', async () => {
    const { client } = await connect();
    // Its own tasks, so the test does not lean on what earlier tests left in the store.
    const { CreateTaskResultSchema } = await import('@modelcontextprotocol/sdk/types.js');
    const created: string[] = [];
    for (const message of ['first', 'second', 'third']) {
      const { task } = await client.request({ method: 'tools/call', params: { name: 'echo', arguments: { message }, task: {} } }, CreateTaskResultSchema);
      created.push(task.taskId);
      await takePublished(transport, 'echo');
    }
    const page = await client.experimental.tasks.listTasks();
    const ids = page.tasks.map((t) => t.taskId);
    expect(ids.filter((id) => created.includes(id))).toEqual([...created].reverse());
    const times = page.tasks.map((t) => Date.parse(t.createdAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    await expect(client.experimental.tasks.listTasks('not-a-cursor')).rejects.toMatchObject({ code: -32602 });
  });
});

describe('JSON-RPC errors and sessions', () => {
  it('answers broken JSON with -32700', async () => {
    expect(await raw('{"jsonrpc": "2.0", "id": 1,')).toMatchObject({ status: 400, json: { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error: Invalid JSON' } } });
  });

  it('answers a wrong jsonrpc version or a missing method with -32600', async () => {
    expect(await raw({ jsonrpc: '1.0', id: 7, method: 'initialize' })).toMatchObject({ status: 400, json: { id: 7, error: { code: -32600 } } });
    expect(await raw({ jsonrpc: '2.0', id: 8 }, await session())).toMatchObject({ status: 400, json: { id: 8, error: { code: -32600, message: 'Invalid Request: method must be a string' } } });
    expect(await raw([])).toMatchObject({ status: 400, json: { error: { code: -32600 } } });
    expect(await raw({ jsonrpc: '2.0', id: { nested: 1 }, method: 'tools/list' }, await session())).toMatchObject({
      status: 400, json: { id: null, error: { code: -32600, message: 'Invalid Request: id must be a string, a number or null' } },
    });
  });

  it('answers an unknown method with -32601', async () => {
    expect(await raw({ jsonrpc: '2.0', id: 2, method: 'unknown/method' }, await session())).toMatchObject({
      status: 200, json: { jsonrpc: '2.0', id: 2, error: { code: -32601, message: 'Method not found' } },
    });
    expect((await raw({ jsonrpc: '2.0', id: 3, method: 'resources/list' }, await session())).json).toMatchObject({ error: { code: -32601 } });
  });

  it.each([
    [{ method: 'tools/call', params: { name: 5 } }, 'Invalid params for tools/call: params.name: Invalid input: expected string, received number'],
    [{ method: 'tasks/get', params: {} }, 'Invalid params for tasks/get: params.taskId: Invalid input: expected string, received undefined'],
    [{ method: 'tools/list', params: { cursor: 5 } }, 'Invalid params for tools/list: params.cursor'],
    [{ method: 'initialize', params: { capabilities: {} } }, 'Invalid params for initialize: params.protocolVersion'],
  ])('answers bad params %j with -32602 and a readable message', async (request, message) => {
    const res = await raw({ jsonrpc: '2.0', id: 9, ...request }, await session());
    expect(res.status).toBe(200);
    expect((res.json as { error: { code: number; message: string } }).error.code).toBe(-32602);
    expect((res.json as { error: { message: string } }).error.message).toContain(message);
  });

  it('requires the session id after initialize, rejects unknown ones, and ends one on DELETE', async () => {
    expect(await raw({ jsonrpc: '2.0', id: 1, method: 'tools/list' })).toMatchObject({ status: 400, json: { error: { code: -32000 } } });
    expect(await raw({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { 'mcp-session-id': 'made-up' })).toMatchObject({ status: 404, json: { error: { message: 'Session not found' } } });
    const headers = await session();
    expect((await raw({ jsonrpc: '2.0', id: 2, method: 'tools/list' }, headers)).status).toBe(200);
    expect((await raw({ jsonrpc: '2.0', method: 'notifications/initialized' }, headers)).status).toBe(202);
    expect((await fetch(`${gw.url}/mcp`, { method: 'DELETE', headers })).status).toBe(200);
    expect((await raw({ jsonrpc: '2.0', id: 3, method: 'tools/list' }, headers)).status).toBe(404);
  });

  it('has no GET stream (405, which clients expect), and serves clients that send no Accept header', async () => {
    const get = await fetch(`${gw.url}/mcp`, { headers: await session() });
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST, DELETE');
    // The original's Python tests posted with requests' default headers.
    const init = await fetch(`${gw.url}/mcp`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 'py', version: '1' } } }),
    });
    expect(init.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await init.json()).toMatchObject({ result: { serverInfo: { name: 'asya-gateway' } } });
    const wrongType = await raw({ jsonrpc: '2.0', id: 4, method: 'tools/list' }, { 'content-type': 'text/plain', ...(await session()) });
    expect(wrongType).toMatchObject({ status: 415, json: { error: { code: -32000, message: 'Unsupported Media Type: Content-Type must be application/json' } } });
  });
});
