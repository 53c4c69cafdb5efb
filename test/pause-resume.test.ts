/**
 * Pause and resume end to end on RabbitMQ: the real gateway on a PostgreSQL schema of its own, Python and
 * TypeScript runtimes whose handlers pause with the runtimes' helpers, sidecars that hand the pause to the
 * gateway, the real crew, and the official MCP SDK client answering elicitations.
 */
import { randomUUID } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, GetTaskResultSchema, type ElicitRequest } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { RunningCrew } from '../cli/crew.ts';
import { queueName } from '../protocol/index.ts';
import type { Transport } from '../transport/transport.ts';
import { brokerSession } from './support/brokers.ts';
import { startTestGateway, testSchema, type TestGateway } from './support/gateway-harness.ts';
import { collectEnds, envelopeBody, startActor, startTestCrew, type Actor } from './support/pipeline.ts';
import type { TestSchema } from './support/postgres.ts';
import { deleteQueuesWithDeadLetters } from './support/queues.ts';

const CLIENT_TOKEN = 'pause-client-secret';
const INTERNAL_TOKEN = 'pause-sidecar-secret';
const clientAuth = { authorization: `Bearer ${CLIENT_TOKEN}` };
const suffix = randomUUID().slice(0, 8);
const names = {
  askPy: `pause-ask-py-${suffix}`, askTs: `pause-ask-ts-${suffix}`, askEnv: `pause-ask-env-${suffix}`, echo: `pause-echo-${suffix}`, lone: `pause-lone-${suffix}`,
};
const endEnv = { ASYA_ACTOR_HAPPY_END: `pause-happy-${suffix}`, ASYA_ACTOR_ERROR_END: `pause-error-${suffix}` };

const TOOLS = `
defaults: {progress: true, timeout: 120}
tools:
- name: review_py
  parameters: {doc: {type: string, required: true}, timeout: {type: number}, default: {type: object}}
  route: [${names.askPy}, ${names.echo}]
- name: review_ts
  parameters: {doc: {type: string, required: true}, timeout: {type: number}, default: {type: object}}
  route: [${names.askTs}, ${names.echo}]
- name: review_envelope
  parameters: {doc: {type: string, required: true}}
  route: [${names.askEnv}, ${names.echo}]
`;

interface EnvelopeJson {
  id: string;
  status: string;
  result?: unknown;
  error?: string;
  [key: string]: unknown;
}

describe('pause and resume (RabbitMQ, PostgreSQL, both runtimes, MCP)', () => {
  const broker = brokerSession('rabbitmq');
  let transport: Transport;
  let schema: TestSchema;
  let gw: TestGateway;
  let crew: RunningCrew[] = [];
  const actors: Actor[] = [];
  const clients: Client[] = [];

  const startGw = (port = 0) =>
    startTestGateway({
      schema, tools: TOOLS, transport, sweeper: true,
      config: { port, apiToken: CLIENT_TOKEN, internalToken: INTERNAL_TOKEN, outboxIntervalMs: 100 },
    });

  beforeAll(async () => {
    transport = await broker.makeTransport();
    schema = await testSchema('pause');
    gw = await startGw();
    const gatewayEnv = { ASYA_GATEWAY_URL: gw.url, ASYA_GATEWAY_TOKEN: INTERNAL_TOKEN };
    const crewEnv = {
      ...process.env, ...endEnv, ...gatewayEnv, ...broker.storageEnv('pause'),
      ASYA_METRICS_ENABLED: 'false', ASYA_LOG_LEVEL: 'ERROR', ASYA_RUNTIME_READY_TIMEOUT: '60s',
    };
    crew = await Promise.all([startTestCrew('happy-end', { env: crewEnv, transport }), startTestCrew('error-end', { env: crewEnv, transport })]);
    const sidecarEnv = { ...endEnv, ...gatewayEnv };
    actors.push(
      ...(await Promise.all([
        startActor(transport, names.askPy, { kind: 'python', fixture: 'ask_approval', sidecarEnv }),
        startActor(transport, names.askTs, { kind: 'node', fixture: 'ask_approval', sidecarEnv }),
        startActor(transport, names.echo, { kind: 'node', fixture: 'echo', sidecarEnv }),
        startActor(transport, names.askEnv, { kind: 'python', fixture: 'pause_envelope', sidecarEnv, runtimeEnv: { ASYA_HANDLER_MODE: 'envelope' } }),
      ])),
    );
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await Promise.allSettled(actors.map((a) => a.stop()));
    await Promise.allSettled(crew.map((c) => c.stop()));
    if (transport) await deleteQueuesWithDeadLetters(transport, [...Object.values(names), ...Object.values(endEnv)].map(queueName));
    await gw?.stop();
    await transport?.close();
    await schema?.drop();
  }, 60_000);

  const request = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${gw.url}${path}`, {
      method,
      headers: { ...clientAuth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any -- wire JSON under test
  };
  const call = async (tool: string, args: Record<string, unknown>) => {
    const res = await request('POST', '/tools/call', { name: tool, arguments: args });
    expect(res.status).toBe(200);
    return (JSON.parse(res.body.content[0].text) as { envelope_id: string }).envelope_id;
  };
  const statusOf = async (id: string) => (await request('GET', `/envelopes/${id}`)).body.status as string;
  const reaches = async (id: string, status: RegExp, timeout = 60_000) => {
    await expect.poll(() => statusOf(id), { timeout, interval: 100 }).toMatch(status);
    return (await request('GET', `/envelopes/${id}`)).body as EnvelopeJson;
  };
  const mcp = async (onElicit?: (request: ElicitRequest) => Record<string, unknown>) => {
    const client = new Client({ name: 'pause-test', version: '1.0.0' }, { capabilities: onElicit ? { elicitation: {} } : {} });
    if (onElicit) client.setRequestHandler(ElicitRequestSchema, async (req) => onElicit(req) as never);
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), { requestInit: { headers: clientAuth } }));
    clients.push(client);
    return client;
  };

  test('Python pause(): REST resume with input the schema refuses (400, stays paused), then valid input; the pipeline finishes', async () => {
    const id = await call('review_py', { doc: 'a' });
    await reaches(id, /^paused$/);

    const pause = await request('GET', `/envelopes/${id}/pause`);
    expect(pause.body).toMatchObject({ prompt: 'Approve a?', actor: names.askPy, input_key: 'resume_input', has_default: false, envelope_status: 'paused' });
    expect(pause.body.schema.required).toEqual(['approved']);

    // The MCP task of a paused envelope asks for input.
    const client = await mcp();
    const task = await client.request({ method: 'tasks/get', params: { taskId: id } }, GetTaskResultSchema);
    expect(task).toMatchObject({ taskId: id, status: 'input_required', statusMessage: `Paused at ${names.askPy}: Approve a?` });

    const refused = await request('POST', `/envelopes/${id}/resume`, { input: { approved: 'yes' } });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatch(/^resume input does not match the pause's schema: .*approved.*boolean/);
    expect(refused.body.envelope_status).toBe('paused');
    expect(await statusOf(id)).toBe('paused');

    const resumed = await request('POST', `/envelopes/${id}/resume`, { input: { approved: true, note: 'fine' } });
    expect(resumed.status).toBe(200);
    expect(resumed.body.status).toBe('running');

    const final = await reaches(id, /^(succeeded|failed)$/);
    expect(final.status).toBe('succeeded');
    expect(final.result).toEqual({ doc: 'a', resume_input: { approved: true, note: 'fine' } });
    const states = (await gw.store.eventsSince(id, 0)).map((e) => e.envelopeState).filter((s) => s === 'paused' || s === 'resumed');
    expect(states).toEqual(['paused', 'resumed']);

    // A second resume, of an envelope that is no longer paused, is refused.
    const again = await request('POST', `/envelopes/${id}/resume`, { input: { approved: false } });
    expect(again.status).toBe(409);
    expect(again.body.error).toBe('Envelope cannot be resumed: envelope is succeeded, not paused');
  });

  test('envelope mode (the form the original runtime can produce): the x-asya-pause header set by the handler pauses; input_key is honoured', async () => {
    const id = await call('review_envelope', { doc: 'env' });
    await reaches(id, /^paused$/);
    expect((await request('GET', `/envelopes/${id}/pause`)).body).toMatchObject({ prompt: 'Envelope-mode approval?', input_key: 'answer' });
    expect((await request('POST', `/envelopes/${id}/resume`, { input: 'yes' })).status).toBe(200);
    const final = await reaches(id, /^(succeeded|failed)$/);
    expect(final).toMatchObject({ status: 'succeeded', result: { doc: 'env', answer: 'yes' } });
  });

  test('resuming an envelope that is no longer paused (cancelled) is refused with 409, and an unknown one with 404', async () => {
    const id = await call('review_ts', { doc: 'never' });
    await reaches(id, /^paused$/);
    await request('POST', `/envelopes/${id}/cancel`, { reason: 'test over' });
    const refused = await request('POST', `/envelopes/${id}/resume`, { input: { approved: true } });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toBe('Envelope cannot be resumed: envelope is failed, not paused');
    expect((await request('POST', `/envelopes/no-such-${suffix}/resume`, { input: null })).status).toBe(404);
  });

  test('TypeScript pause(): an MCP client that handles elicitation answers the pause and gets the result', async () => {
    const asked: ElicitRequest['params'][] = [];
    const client = await mcp((req) => {
      asked.push(req.params);
      return { action: 'accept', content: { approved: true, note: 'via mcp' } };
    });
    const result = await client.callTool({ name: 'review_ts', arguments: { doc: 'b' } }, undefined, { onprogress: () => {}, timeout: 60_000 });
    expect(result.structuredContent).toMatchObject({ status: 'succeeded', result: { doc: 'b', resume_input: { approved: true, note: 'via mcp' } } });
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ message: 'Approve b?', requestedSchema: { type: 'object', required: ['approved'] } });
  });

  test('a client that declines leaves the envelope paused; REST resumes it', async () => {
    const declined: string[] = [];
    const client = await mcp((req) => {
      declined.push(req.params.message);
      return { action: 'decline' };
    });
    const waiting = client.callTool({ name: 'review_py', arguments: { doc: 'declined' } }, undefined, { onprogress: () => {}, timeout: 60_000 });
    await expect.poll(() => declined, { timeout: 30_000 }).toEqual(['Approve declined?']);
    const pausedNow = async () =>
      ((await request('GET', '/envelopes?status=paused&tool=review_py')).body.envelopes as EnvelopeJson[]).find((e) => (e.payload as { doc?: string }).doc === 'declined');
    const paused = await pausedNow();
    if (!paused) throw new Error('the declined envelope is not paused');
    expect((await request('POST', `/envelopes/${paused.id}/resume`, { input: { approved: false } })).status).toBe(200);
    const result = await waiting;
    expect(result.structuredContent).toMatchObject({ status: 'succeeded', result: { resume_input: { approved: false } } });
  });

  test('a pause past its timeout fails with a clear error; one with a default continues with it', async () => {
    const [fails, defaults] = await Promise.all([
      call('review_py', { doc: 'c', timeout: 1 }),
      call('review_ts', { doc: 'd', timeout: 1, default: { approved: false, note: 'nobody answered' } }),
    ]);
    const failed = await reaches(fails, /^(succeeded|failed)$/);
    expect(failed.status).toBe('failed');
    expect(failed.error).toBe(`pause timed out: no input within 1 s for "Approve c?" (paused at ${names.askPy})`);
    const continued = await reaches(defaults, /^(succeeded|failed)$/);
    expect(continued.status).toBe('succeeded');
    expect(continued.result).toMatchObject({ doc: 'd', resume_input: { approved: false, note: 'nobody answered' } });
  });

  test('a paused envelope survives a gateway restart and is resumed after it', async () => {
    const id = await call('review_py', { doc: 'e' });
    await reaches(id, /^paused$/);
    const port = Number(new URL(gw.url).port);
    await gw.stop();
    gw = await startGw(port);
    expect(await statusOf(id)).toBe('paused');
    expect((await request('POST', `/envelopes/${id}/resume`, { input: { approved: true } })).status).toBe(200);
    const final = await reaches(id, /^(succeeded|failed)$/);
    expect(final).toMatchObject({ status: 'succeeded', result: { doc: 'e', resume_input: { approved: true } } });
  });

  test('without a gateway a pause is an error that names the reason, at error-end', async () => {
    const ends = await collectEnds(transport, [], true);
    const lone = await startActor(transport, names.lone, { kind: 'python', fixture: 'ask_approval', sidecarEnv: ends.sidecarEnv });
    try {
      const id = `lone-${suffix}`;
      await transport.publish(queueName(names.lone), envelopeBody(id, [names.lone], { doc: 'x' }));
      const [arrival] = await ends.waitForIds([id]);
      expect(arrival!.queue).toBe(ends.errorQueue);
      expect(JSON.stringify(arrival!.envelope.payload)).toContain(`pause needs the gateway: ${names.lone} has no ASYA_GATEWAY_URL`);
    } finally {
      await lone.stop();
      await ends.stop();
    }
  });
});
