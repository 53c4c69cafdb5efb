/**
 * The gateway with real sidecars and runtimes in front of it: what they report (progress with the advanced
 * index, fan-out registrations with a count, end-actor finals, bearer token) drives the envelope to the
 * same answer a client sees over MCP, REST and SSE.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startActor, type Actor } from '../test/support/pipeline.ts';
import type { TestSchema } from '../test/support/postgres.ts';
import { MemoryTransport } from '../transport/memory.ts';
import { readSse, startTestGateway, testSchema, type TestGateway } from '../test/support/gateway-harness.ts';

const TOOLS = `
tools:
- name: fan_work
  parameters: {count: {type: integer, default: 3}}
  route: [gw-fan, gw-work]
  progress: true
- name: single
  parameters: {text: {type: string, required: true}}
  route: [gw-work]
  progress: true
- name: breaks
  parameters: {message: {type: string}}
  route: [gw-bad]
  progress: true
`;

let schema: TestSchema;
let gw: TestGateway;
let client: Client;
const transport = new MemoryTransport({ logger: { info() {}, warn() {}, error() {} } });
const actors: Actor[] = [];
const auth = { authorization: 'Bearer client-secret' };

beforeAll(async () => {
  schema = await testSchema('e2e');
  gw = await startTestGateway({ schema, tools: TOOLS, transport, config: { apiToken: 'client-secret', internalToken: 'sidecar-secret' } });
  const sidecarEnv = {
    ASYA_GATEWAY_URL: gw.url, ASYA_GATEWAY_TOKEN: 'sidecar-secret', ASYA_ACTOR_HAPPY_END: 'gw-happy', ASYA_ACTOR_ERROR_END: 'gw-error',
  };
  const endRuntime = { ASYA_HANDLER_MODE: 'envelope', ASYA_ENABLE_VALIDATION: 'false' };
  actors.push(
    ...(await Promise.all([
      startActor(transport, 'gw-fan', { kind: 'node', fixture: 'fanout', sidecarEnv }),
      startActor(transport, 'gw-work', { kind: 'node', fixture: 'echo', sidecarEnv }),
      startActor(transport, 'gw-bad', { kind: 'node', fixture: 'fail', sidecarEnv }),
      startActor(transport, 'gw-happy', { kind: 'node', fixture: 'passthrough', sidecarEnv: { ...sidecarEnv, ASYA_IS_END_ACTOR: 'true' }, runtimeEnv: endRuntime }),
      startActor(transport, 'gw-error', { kind: 'node', fixture: 'passthrough', sidecarEnv: { ...sidecarEnv, ASYA_IS_END_ACTOR: 'true' }, runtimeEnv: endRuntime }),
    ])),
  );
  client = new Client({ name: 'e2e', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), { requestInit: { headers: auth } }));
}, 60_000);

afterAll(async () => {
  await client?.close();
  await Promise.allSettled(actors.map((a) => a.stop()));
  await gw?.stop();
  await transport.close();
  await schema?.drop();
});

const textOf = (result: unknown) => JSON.parse((result as { content: Array<{ text: string }> }).content[0]!.text) as Record<string, unknown>;

describe('real sidecars reporting to the gateway', () => {
  it('a waiting MCP call sees every actor transition and gets the result', async () => {
    const progress: number[] = [];
    const result = await client.callTool({ name: 'single', arguments: { text: 'hi' } }, CallToolResultSchema, {
      onprogress: (p) => progress.push(p.progress),
    });
    expect(textOf(result)).toMatchObject({ status: 'succeeded', result: { text: 'hi' } });
    // Each sidecar reports through its own queue, so happy-end's final can overtake the last actor's
    // "completed"; what arrives late is ignored. The client still sees steady progress up to 100.
    expect(progress[0]).toBe(0);
    expect(progress.at(-1)).toBe(100);
    expect(progress).toEqual([...new Set(progress)].sort((a, b) => a - b));
    expect(progress.every((p) => [0, 10, 50, 99, 100].includes(p))).toBe(true);
  });

  it('a fan-out finishes only when every child has, with the results in order', async () => {
    const result = await client.callTool({ name: 'fan_work', arguments: { count: 3 } }, CallToolResultSchema, { onprogress: () => {} });
    const body = textOf(result);
    expect(body).toMatchObject({ status: 'succeeded', result: [{ index: 0, of: 3 }, { index: 1, of: 3 }, { index: 2, of: 3 }] });
    const id = body.envelope_id as string;
    const children = (await (await fetch(`${gw.url}/envelopes?parent_id=${id}`, { headers: auth })).json()) as { envelopes: Array<Record<string, unknown>> };
    expect(children.envelopes.map((c) => [c.id, c.status, c.fanout_index]).sort()).toEqual([0, 1, 2].map((i) => [`${id}-${i}`, 'succeeded', i]));
  });

  it("a handler's failure reaches the client through error-end", async () => {
    const result = await client.callTool({ name: 'breaks', arguments: { message: 'no good' } }, CallToolResultSchema, { onprogress: () => {} });
    expect(result.isError).toBe(true);
    const body = textOf(result);
    expect(body).toMatchObject({ status: 'failed', error: expect.any(String) });
    const id = body.envelope_id as string;
    const envelope = (await (await fetch(`${gw.url}/envelopes/${id}`, { headers: auth })).json()) as Record<string, unknown>;
    expect(envelope).toMatchObject({ status: 'failed', message: expect.stringMatching(/^Envelope failed/) });
    expect(JSON.stringify(envelope.result)).toContain('no good');
    const stream = await readSse(`${gw.url}/envelopes/${id}/stream`, { headers: auth });
    expect(stream.closedByServer).toBe(true);
    expect((JSON.parse(stream.events.at(-1)!.data) as { status: string }).status).toBe('failed');
  });
});
