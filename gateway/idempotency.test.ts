/**
 * Idempotent tool calls over REST (Idempotency-Key) and MCP (`_meta`), through the official MCP SDK
 * client: a repeat answers the first call's envelope and publishes nothing, another request under the same
 * key is refused, bad keys are refused clearly, and each named client has its own keys.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, CreateTaskResultSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IDEMPOTENCY_META_KEY, IDEMPOTENT_REPLAYED_META_KEY } from '../protocol/gateway-contract.ts';
import type { TestSchema } from '../test/support/postgres.ts';
import { MemoryTransport } from '../transport/memory.ts';
import { Sidecar, startTestGateway, takePublished, testSchema, waitUntil, type TestGateway } from '../test/support/gateway-harness.ts';

const TOOLS = `
tools:
- name: echo
  parameters:
    message: {type: string, required: true}
    times: {type: integer, default: 1}
  route: [echo]
- name: pipeline
  parameters: {value: {type: integer, required: true}}
  route: [doubler, incrementer]
  progress: true
  timeout: 60
- name: unroutable
  route: [nowhere]
`;
const TOKENS = { internalToken: 'sidecar-secret', apiToken: 'shared-secret', clientTokens: { alice: 'alice-secret', bob: 'bob-secret' } };

let schema: TestSchema;
let transport: MemoryTransport;
let gw: TestGateway;
let sidecar: Sidecar;
let counter = 0;
const clients: Client[] = [];
const newKey = () => `key-${Date.now().toString(36)}-${++counter}`;

beforeAll(async () => {
  schema = await testSchema('idem');
  transport = new MemoryTransport({ logger: { info() {}, warn() {}, error() {} } });
  for (const q of ['asya-echo', 'asya-doubler']) await transport.ensureQueue(q);
  gw = await startTestGateway({ schema, tools: TOOLS, transport, config: TOKENS });
  sidecar = new Sidecar(gw.url, TOKENS.internalToken);
});

afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()));
  // Every test takes what it published; a leftover would be a publish the test did not expect.
  for (const q of ['asya-echo', 'asya-doubler']) expect(await transport.queueDepth(q)).toMatchObject({ ready: 0, inFlight: 0 });
});

afterAll(async () => {
  await gw?.stop();
  await transport?.close();
  await schema?.drop();
});

interface Answer {
  status: number;
  json: { content?: Array<{ text: string }>; isError?: boolean; error?: string; code?: string };
  replayed: string | null;
  id: string | undefined;
}

async function call(name: string, args: unknown, key?: string, token = TOKENS.apiToken): Promise<Answer> {
  const res = await fetch(`${gw.url}/tools/call`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, ...(key === undefined ? {} : { 'idempotency-key': key }) },
    body: JSON.stringify({ name, arguments: args }),
  });
  const json = (await res.json()) as Answer['json'];
  let id: string | undefined;
  try {
    id = (JSON.parse(json.content?.[0]?.text ?? '') as { envelope_id?: string }).envelope_id;
  } catch {
    id = undefined;
  }
  return { status: res.status, json, replayed: res.headers.get('idempotent-replayed'), id };
}

/** The tool-call envelopes with this payload field, as the store has them. */
async function envelopesWith(tool: string, field: string, value: unknown): Promise<string[]> {
  const page = await gw.store.list({ toolName: tool, limit: 500 });
  return page.items.filter((e) => (e.payload as Record<string, unknown> | null)?.[field] === value).map((e) => e.id);
}

async function connect(token = TOKENS.apiToken): Promise<Client> {
  const client = new Client({ name: 'idem-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  clients.push(client);
  return client;
}

const textOf = (result: unknown) => (result as { content: Array<{ text: string }> }).content[0]!.text;

describe('REST: Idempotency-Key', () => {
  it('answers a repeat with the first envelope, marked replayed, and publishes it once', async () => {
    const key = newKey();
    const first = await call('echo', { message: key, times: 2 }, key);
    expect(first).toMatchObject({ status: 200, replayed: null });
    expect((await takePublished(transport, 'echo')).id).toBe(first.id);
    // Same request, keys in another order, default spelled out: still a repeat.
    const again = await call('echo', { times: 2, message: key }, key);
    expect(again).toMatchObject({ status: 200, replayed: 'true', id: first.id });
    expect(again.json).toEqual(first.json);
    // The outbox holds nothing for a repeat: a relay pass publishes nothing, and the queue stays empty.
    expect(await gw.gateway.outboxRelay!.relayOnce()).toBe(0);
    expect(await transport.queueDepth('asya-echo')).toMatchObject({ ready: 0 });
    expect(await envelopesWith('echo', 'message', key)).toEqual([first.id]);
    expect((await gw.store.eventsSince(first.id!, 0)).map((e) => e.message)).toEqual(['Envelope created']);
    const view = await fetch(`${gw.url}/envelopes/${first.id}`, { headers: { authorization: `Bearer ${TOKENS.apiToken}` } });
    expect(await view.json()).toMatchObject({ id: first.id, idempotency_key: key });
  });

  it('treats a default left out and spelled out as the same request', async () => {
    const key = newKey();
    const first = await call('echo', { message: key }, key);
    await takePublished(transport, 'echo');
    expect(await call('echo', { message: key, times: 1 }, key)).toMatchObject({ status: 200, replayed: 'true', id: first.id });
  });

  it('refuses the same key with other arguments or another tool with 409, creating nothing', async () => {
    const key = newKey();
    const first = await call('echo', { message: key }, key);
    await takePublished(transport, 'echo');
    const other = await call('echo', { message: `${key}-changed` }, key);
    expect(other.status).toBe(409);
    expect(other.json).toEqual({
      error: `Idempotency key "${key}" was already used for a call of echo with other arguments (envelope ${first.id}); a repeat must send the same tool and arguments, and a new call needs a new key`,
      code: 'idempotency_key_conflict',
    });
    const otherTool = await call('pipeline', { value: 1 }, key);
    expect(otherTool.status).toBe(409);
    expect(otherTool.json.error).toContain(`was already used for a call of echo (envelope ${first.id})`);
    expect(await envelopesWith('echo', 'message', `${key}-changed`)).toEqual([]);
    expect(await envelopesWith('pipeline', 'value', 1)).toEqual([]);
  });

  it('refuses a malformed key with 400 and the reason; the quoted form of the IETF draft is the same key', async () => {
    const marker = newKey();
    const cases: Array<[string, string]> = [
      ['', 'Invalid Idempotency-Key header: empty'],
      ['has space', 'Invalid Idempotency-Key header: " " at position 4 is not allowed (visible ASCII only: letters, digits and punctuation, no spaces)'],
      ['x'.repeat(256), 'Invalid Idempotency-Key header: 256 characters, at most 255'],
      ['caf\u00e9', 'Invalid Idempotency-Key header: "é" at position 4 is not allowed (visible ASCII only: letters, digits and punctuation, no spaces)'],
    ];
    for (const [key, error] of cases) {
      const refused = await call('echo', { message: marker }, key);
      expect([refused.status, refused.json]).toEqual([400, { error }]);
    }
    expect(await envelopesWith('echo', 'message', marker)).toEqual([]);
    const key = newKey();
    const quoted = await call('echo', { message: marker }, `"${key}"`);
    await takePublished(transport, 'echo');
    expect(await call('echo', { message: marker }, key)).toMatchObject({ replayed: 'true', id: quoted.id });
    expect(await call('echo', { message: marker }, 'x'.repeat(255))).toMatchObject({ status: 200, replayed: null });
    await takePublished(transport, 'echo');
  });

  it('gives each named client its own keys; the shared token has one key space', async () => {
    const key = newKey();
    const alice = await call('echo', { message: key }, key, TOKENS.clientTokens.alice);
    const bob = await call('echo', { message: key }, key, TOKENS.clientTokens.bob);
    const shared = await call('echo', { message: key }, key);
    for (let i = 0; i < 3; i++) await takePublished(transport, 'echo');
    expect(new Set([alice.id, bob.id, shared.id]).size).toBe(3);
    expect(await call('echo', { message: key }, key, TOKENS.clientTokens.alice)).toMatchObject({ replayed: 'true', id: alice.id });
    expect(await call('echo', { message: key }, key)).toMatchObject({ replayed: 'true', id: shared.id });
    // Bob's other arguments conflict with his own call only, and name his envelope.
    const conflict = await call('echo', { message: 'other' }, key, TOKENS.clientTokens.bob);
    expect(conflict.status).toBe(409);
    expect(conflict.json.error).toContain(`(envelope ${bob.id})`);
  });

  it('answers a repeat of a call the broker refused with the same refusal, and publishes nothing', async () => {
    const key = newKey();
    const first = await call('unroutable', {}, key);
    expect(first.json.isError).toBe(true);
    expect(first.json.content![0]!.text).toMatch(/^failed to send envelope: .* \(envelope [0-9a-f-]{36}\)$/);
    const again = await call('unroutable', {}, key);
    expect(again).toMatchObject({ status: 200, replayed: 'true' });
    expect(again.json).toEqual(first.json);
  });

  it('answers a repeat of a cancelled call with its envelope: the cancel stands, nothing runs again', async () => {
    const key = newKey();
    const first = await call('echo', { message: key }, key);
    await takePublished(transport, 'echo');
    const cancel = await fetch(`${gw.url}/envelopes/${first.id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${TOKENS.apiToken}` } });
    expect(cancel.status).toBe(200);
    const again = await call('echo', { message: key }, key);
    expect(again).toMatchObject({ status: 200, replayed: 'true', id: first.id });
    expect(await gw.store.get(first.id!)).toMatchObject({ status: 'failed', cancelled: true });
  });
});

describe('REST: what a key names over an envelope\'s life', () => {
  it('an operator\'s replay keeps the key on the same envelope: a repeat answers it, with the replay\'s outcome', async () => {
    const key = newKey();
    const first = await call('echo', { message: key }, key);
    await takePublished(transport, 'echo');
    expect((await sidecar.final(first.id!, { status: 'failed', error: 'boom' })).status).toBe(200);
    expect(await call('echo', { message: key }, key)).toMatchObject({ replayed: 'true', id: first.id });
    expect((await sidecar.post(`/envelopes/${first.id}/replay`, { reason: 'fixed' })).status).toBe(200);
    expect(await call('echo', { message: key }, key)).toMatchObject({ replayed: 'true', id: first.id });
    await sidecar.final(first.id!, { status: 'succeeded', result: 'second time' });
    expect(await gw.store.get(first.id!)).toMatchObject({ status: 'succeeded', result: 'second time' });
    expect(await envelopesWith('echo', 'message', key)).toEqual([first.id]);
  });

  it('retention frees the key with its envelope: the same key then starts a new call', async () => {
    const own = await testSchema('idemret');
    const sweeping = await startTestGateway({
      schema: own, tools: TOOLS, transport, config: { ...TOKENS, retentionMs: 1, cleanupIntervalMs: 50 }, sweeper: true,
    });
    try {
      const send = (key: string) => fetch(`${sweeping.url}/tools/call`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKENS.apiToken}`, 'idempotency-key': key },
        body: JSON.stringify({ name: 'echo', arguments: { message: key } }),
      });
      const idOf = async (res: Response) => (JSON.parse(((await res.json()) as { content: Array<{ text: string }> }).content[0]!.text) as { envelope_id: string }).envelope_id;
      const key = newKey();
      const first = await idOf(await send(key));
      await takePublished(transport, 'echo');
      // Still running: the key holds (retention deletes only final envelopes; the store suite shows it).
      const repeat = await send(key);
      expect([repeat.headers.get('idempotent-replayed'), await idOf(repeat)]).toEqual(['true', first]);
      await new Sidecar(sweeping.url, TOKENS.internalToken).final(first, { status: 'succeeded', result: 1 });
      await waitUntil(async () => (await sweeping.store.get(first)) === undefined, 10_000, 'retention deleting the final envelope');
      const again = await send(key);
      expect(again.headers.get('idempotent-replayed')).toBeNull();
      const second = await idOf(again);
      expect(second).not.toBe(first);
      expect((await takePublished(transport, 'echo')).id).toBe(second);
    } finally {
      await sweeping.stop();
      await own.drop();
    }
  });
});

describe('MCP: _meta key', () => {
  const meta = (key: unknown) => ({ [IDEMPOTENCY_META_KEY]: key });

  it('answers a repeat with the same envelope, marked replayed in _meta, and publishes once', async () => {
    const client = await connect();
    const key = newKey();
    const first = await client.callTool({ name: 'echo', arguments: { message: key }, _meta: meta(key) });
    const id = (JSON.parse(textOf(first)) as { envelope_id: string }).envelope_id;
    expect(first._meta).toBeUndefined();
    expect((await takePublished(transport, 'echo')).id).toBe(id);
    // Another session (a client that reconnected) repeats the call.
    const again = await (await connect()).callTool({ name: 'echo', arguments: { message: key }, _meta: meta(key) });
    expect(textOf(again)).toBe(textOf(first));
    expect(again._meta).toEqual({ [IDEMPOTENT_REPLAYED_META_KEY]: true });
    // The same key over REST is the same call: one key space per caller, whatever the surface.
    expect(await call('echo', { message: key }, key)).toMatchObject({ replayed: 'true', id });
    expect(await envelopesWith('echo', 'message', key)).toEqual([id]);
  });

  it('answers other arguments and a malformed key with isError and the reason', async () => {
    const client = await connect();
    const key = newKey();
    const first = await client.callTool({ name: 'echo', arguments: { message: key }, _meta: meta(key) });
    const id = (JSON.parse(textOf(first)) as { envelope_id: string }).envelope_id;
    await takePublished(transport, 'echo');
    const conflict = await client.callTool({ name: 'echo', arguments: { message: 'changed' }, _meta: meta(key) });
    expect(conflict.isError).toBe(true);
    expect(textOf(conflict)).toBe(
      `Idempotency key "${key}" was already used for a call of echo with other arguments (envelope ${id}); a repeat must send the same tool and arguments, and a new call needs a new key`,
    );
    for (const [bad, reason] of [[42, 'must be a string'], ['', 'empty'], ['tab\there', '"\\t" at position 4 is not allowed']] as const) {
      const refused = await client.callTool({ name: 'echo', arguments: { message: 'changed' }, _meta: meta(bad) });
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toContain(`Invalid _meta["${IDEMPOTENCY_META_KEY}"]: ${reason}`);
    }
    expect(await envelopesWith('echo', 'message', 'changed')).toEqual([]);
  });

  it('lets a repeat that waits (progress) wait for the first call’s envelope and get the same result', async () => {
    const key = newKey();
    const progress: number[][] = [[], []];
    const calls = [await connect(), await connect()].map((client, i) =>
      client.callTool({ name: 'pipeline', arguments: { value: 3 }, _meta: meta(key) }, CallToolResultSchema, { onprogress: (p) => progress[i]!.push(p.progress) }));
    const envelope = await takePublished(transport, 'doubler');
    await sidecar.walk(envelope, { value: 7 });
    const [a, b] = await Promise.all(calls);
    expect(a!.structuredContent).toEqual({ envelope_id: envelope.id, status: 'succeeded', result: { value: 7 } });
    expect(b!.structuredContent).toEqual(a!.structuredContent);
    // One of the two created the envelope; the other was the repeat.
    expect([a!._meta, b!._meta].filter((m) => m?.[IDEMPOTENT_REPLAYED_META_KEY] === true)).toHaveLength(1);
    for (const seen of progress) expect(seen.at(-1)).toBe(100);
    // Finished: a later repeat that waits answers at once with the same result.
    const late = await (await connect()).callTool({ name: 'pipeline', arguments: { value: 3 }, _meta: meta(key) }, CallToolResultSchema, { onprogress: () => {} });
    expect(late.structuredContent).toEqual(a!.structuredContent);
  });

  it('answers a repeated task call with the same task, and refuses a conflicting one', async () => {
    const client = await connect();
    const key = newKey();
    const request = (message: string) => client.request(
      { method: 'tools/call', params: { name: 'echo', arguments: { message }, task: {}, _meta: meta(key) } },
      CreateTaskResultSchema,
    );
    const first = await request(key);
    await takePublished(transport, 'echo');
    const again = await request(key);
    expect(again.task.taskId).toBe(first.task.taskId);
    const refused = await request('changed').catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(McpError);
    expect(refused).toMatchObject({ code: -32602 });
    expect((refused as McpError).message).toContain(`Idempotency key "${key}" was already used`);
  });
});
