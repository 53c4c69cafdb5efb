/** Tool calls published to a real RabbitMQ: the message the first actor receives, and a refused publish. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actorFromQueue } from '../protocol/queues.ts';
import type { TestSchema } from '../test/support/postgres.ts';
import { RABBITMQ_URL, TestQueues } from '../test/support/rabbitmq.ts';
import { RabbitMqTransport } from '../transport/rabbitmq/rabbitmq.ts';
import { Sidecar, startTestGateway, takePublished, testSchema, type TestGateway } from '../test/support/gateway-harness.ts';

let schema: TestSchema;
let transport: RabbitMqTransport;
let gw: TestGateway;
const queues = new TestQueues();
let first: string;
let second: string;
let missing: string;

beforeAll(async () => {
  schema = await testSchema('amqp');
  transport = await RabbitMqTransport.connect({ url: RABBITMQ_URL, connectionName: 'gateway-suite' });
  first = actorFromQueue(queues.name('gw-first'));
  second = actorFromQueue(queues.name('gw-second'));
  missing = actorFromQueue(queues.name('gw-missing'));
  await transport.ensureQueue(`asya-${first}`);
  const tools = `
tools:
- name: pipeline
  parameters: {text: {type: string, required: true}}
  route: [${first}, ${second}]
  timeout: 120
- name: nowhere
  route: [${missing}]
`;
  gw = await startTestGateway({ schema, tools, transport });
});

afterAll(async () => {
  await gw?.stop();
  await queues.cleanup(transport);
  await transport?.close();
  await schema?.drop();
});

async function call(name: string, args: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${gw.url}/tools/call`, { method: 'POST', headers, body: JSON.stringify({ name, arguments: args }) });
  return (await res.json()) as { content: Array<{ text: string }>; isError?: boolean };
}

describe('publishing to RabbitMQ', () => {
  it('delivers the envelope to the first actor queue, confirmed before the call answers', async () => {
    const result = await call('pipeline', { text: 'héllo' }, { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', baggage: 'k=v' });
    const id = (JSON.parse(result.content[0]!.text) as { envelope_id: string }).envelope_id;
    expect((await transport.queueDepth(`asya-${first}`)).ready).toBe(1);
    const envelope = await takePublished(transport, first);
    expect(envelope).toEqual({
      id,
      route: { actors: [first, second], current: 0, metadata: { job_id: id } },
      headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', baggage: 'k=v' },
      payload: { text: 'héllo' },
      deadline: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    });
    await new Sidecar(gw.url).walk(envelope, { text: 'HÉLLO' });
    const status = (await (await fetch(`${gw.url}/envelopes/${id}`)).json()) as Record<string, unknown>;
    expect(status).toMatchObject({ status: 'succeeded', result: { text: 'HÉLLO' }, headers: { traceparent: expect.any(String), baggage: 'k=v' } });
  });

  it('marks the envelope failed when the broker cannot route it (no queue for the actor)', async () => {
    const result = await call('nowhere', {});
    expect(result.isError).toBe(true);
    expect(result.content[0]!.text).toMatch(/^failed to send envelope: /);
    const id = /envelope ([0-9a-f-]{36})\)$/.exec(result.content[0]!.text)![1]!;
    expect(await (await fetch(`${gw.url}/envelopes/${id}`)).json()).toMatchObject({ status: 'failed', error: expect.stringMatching(/^failed to send envelope/) });
  });
});
