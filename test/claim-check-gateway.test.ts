/**
 * The gateway and the crew in the claim check (docs/payloads.md): large tool arguments are offloaded when
 * the envelope is created; the crew stores the result by reference; `GET /envelopes/{id}` and MCP results
 * resolve it up to ASYA_PAYLOAD_RESOLVE_BYTES, and past it answer the reference with `result_url`, which
 * streams the object behind the API token. A client may not send a reference of its own.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningCrew } from '../cli/crew.ts';
import { storageFromEnv } from '../crew/storage.ts';
import { payloadRefOf } from '../protocol/index.ts';
import { MemoryTransport } from '../transport/memory.ts';
import { startTestGateway, testSchema, type TestGateway } from './support/gateway-harness.ts';
import { startActor, startTestCrew, type Actor } from './support/pipeline.ts';
import type { TestSchema } from './support/postgres.ts';

const TOOLS = `
tools:
- name: echo_big
  parameters: {text: {type: string, required: true}}
  route: [cc-gw-echo]
  progress: true
`;
const auth = { authorization: 'Bearer client-secret' };
const KiB = 1024;

let schema: TestSchema;
let gw: TestGateway;
let client: Client;
let actor: Actor;
let crews: RunningCrew[] = [];
const transport = new MemoryTransport({ logger: { info() {}, warn() {}, error() {} } });
const payloadDir = mkdtempSync(join(tmpdir(), 'asya-gw-payloads-'));
const resultsDir = mkdtempSync(join(tmpdir(), 'asya-gw-results-'));
const storeEnv = { ASYA_PAYLOAD_STORE: payloadDir, ASYA_PAYLOAD_OFFLOAD_BYTES: String(64 * KiB) };

beforeAll(async () => {
  schema = await testSchema('claimcheck');
  gw = await startTestGateway({
    schema, tools: TOOLS, transport,
    config: { apiToken: 'client-secret', internalToken: 'sidecar-secret', payloadStore: payloadDir, payloadOffloadBytes: 64 * KiB, payloadResolveBytes: 512 * KiB },
  });
  const sidecarEnv = { ASYA_GATEWAY_URL: gw.url, ASYA_GATEWAY_TOKEN: 'sidecar-secret', ASYA_ACTOR_HAPPY_END: 'cc-gw-happy', ASYA_ACTOR_ERROR_END: 'cc-gw-error', ...storeEnv };
  actor = await startActor(transport, 'cc-gw-echo', { kind: 'python', fixture: 'echo', sidecarEnv });
  const crewEnv = { ...process.env, ...sidecarEnv, ASYA_RESULTS_DIR: resultsDir, ASYA_METRICS_ENABLED: 'false', ASYA_LOG_LEVEL: 'ERROR', ASYA_RUNTIME_READY_TIMEOUT: '60s' };
  crews = await Promise.all([startTestCrew('happy-end', { env: crewEnv, transport }), startTestCrew('error-end', { env: crewEnv, transport })]);
  client = new Client({ name: 'claim-check', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), { requestInit: { headers: auth } }));
}, 90_000);

afterAll(async () => {
  await client?.close();
  await Promise.allSettled([actor?.stop(), ...crews.map((c) => c.stop())]);
  await gw?.stop();
  await transport.close();
  await schema?.drop();
  rmSync(payloadDir, { recursive: true, force: true });
  rmSync(resultsDir, { recursive: true, force: true });
});

const textOf = (result: unknown) => JSON.parse((result as { content: Array<{ text: string }> }).content[0]!.text) as Record<string, unknown>;
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

async function envelope(id: string): Promise<Record<string, unknown>> {
  return (await (await fetch(`${gw.url}/envelopes/${id}`, { headers: auth })).json()) as Record<string, unknown>;
}

describe('the claim check at the gateway and the crew', () => {
  it('large arguments are offloaded at creation; the result comes back resolved over MCP and REST; the crew stored a reference', async () => {
    const text = 'x'.repeat(200 * KiB);
    const result = await client.callTool({ name: 'echo_big', arguments: { text } }, CallToolResultSchema, { onprogress: () => {} });
    const body = textOf(result);
    expect(body.status).toBe('succeeded');
    expect(sha((body.result as { text: string }).text)).toBe(sha(text));
    const id = body.envelope_id as string;
    const view = await envelope(id);
    // What was published and stored is the reference; the client sees the value.
    expect(payloadRefOf(view.payload)).toMatchObject({ size: JSON.stringify({ text }).length, content_type: 'application/json' });
    expect((view.result as { text: string }).text).toBe(text);
    expect(view.result_url).toBeUndefined();
    // happy-end stored the envelope with the reference in it, not 200 KiB of payload.
    const storage = storageFromEnv({ ASYA_RESULTS_DIR: resultsDir });
    const stored = (await storage.list('')).filter((k) => k.includes(id) && !k.includes('.marker'));
    expect(stored.length).toBeGreaterThan(0);
    const record = (await storage.get(stored[0]!))!;
    expect(record.length).toBeLessThan(4 * KiB);
    expect(payloadRefOf((JSON.parse(record) as { payload: unknown }).payload)).toBeDefined();
  });

  it('a result over the resolve limit is answered by reference with result_url, which streams it behind the token', async () => {
    const text = 'y'.repeat(600 * KiB);
    const created = textOf(await client.callTool({ name: 'echo_big', arguments: { text } }, CallToolResultSchema, { onprogress: () => {} }));
    expect(created.status).toBe('succeeded');
    const id = created.envelope_id as string;
    expect(created.result_url).toBe(`/envelopes/${id}/result`);
    const ref = payloadRefOf(created.result)!;
    expect(ref.size).toBe(JSON.stringify({ text }).length);
    const view = await envelope(id);
    expect(view.result_url).toBe(`/envelopes/${id}/result`);
    expect(payloadRefOf(view.result)).toEqual(ref);
    expect((await fetch(`${gw.url}${view.result_url as string}`)).status).toBe(401);
    const download = await fetch(`${gw.url}${view.result_url as string}`, { headers: auth });
    expect(download.status).toBe(200);
    expect(download.headers.get('x-asya-payload-sha256')).toBe(ref.sha256);
    const bytes = Buffer.from(await download.arrayBuffer());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(ref.sha256);
    expect((JSON.parse(bytes.toString('utf8')) as { text: string }).text).toBe(text);
  });

  it('a client may not send a payload reference as its arguments (it could name another envelope\'s object)', async () => {
    const forged = { asya_payload_ref: { uri: `file://${join(payloadDir, 'x')}`, size: 1, sha256: '0'.repeat(64), content_type: 'application/json' } };
    const response = await fetch(`${gw.url}/tools/call`, {
      method: 'POST', headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'echo_big', arguments: { text: 'a', ...forged } }),
    });
    const answer = (await response.json()) as { isError?: boolean; content: Array<{ text: string }> };
    expect(answer.isError).toBe(true);
    expect(answer.content[0]!.text).toBe('tool arguments may not be a payload reference (asya_payload_ref)');
    const overMcp = await client.callTool({ name: 'echo_big', arguments: { text: 'a', ...forged } });
    expect(overMcp.isError).toBe(true);
    expect(JSON.stringify(overMcp.content)).toContain('may not be a payload reference');
  });

  it('small arguments travel inline, as ever', async () => {
    const created = textOf(await client.callTool({ name: 'echo_big', arguments: { text: 'small' } }, CallToolResultSchema, { onprogress: () => {} }));
    const view = await envelope(created.envelope_id as string);
    expect(view.payload).toEqual({ text: 'small' });
    expect(view.result).toEqual({ text: 'small' });
  });
});
