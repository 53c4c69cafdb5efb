/**
 * The outbox in a running gateway: an unconfirmed publish is not a failure and is published once the
 * broker is back; a confirmed one leaves no entry behind; a refusal found by the relay fails the envelope.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actorFromQueue, queueName } from '../protocol/queues.ts';
import type { TestSchema } from '../test/support/postgres.ts';
import { RABBITMQ_URL, TestQueues } from '../test/support/rabbitmq.ts';
import { startTcpRelay, type TcpRelay } from '../test/support/tcp-relay.ts';
import { RabbitMqTransport } from '../transport/rabbitmq/rabbitmq.ts';
import { takePublished, startTestGateway, testSchema, waitUntil, type TestGateway } from '../test/support/gateway-harness.ts';

let schema: TestSchema;
let broker: RabbitMqTransport;
let relay: TcpRelay;
let viaRelay: RabbitMqTransport;
let gw: TestGateway;
let sql: postgres.Sql;
const queues = new TestQueues();
let actor: string;
let missing: string;

beforeAll(async () => {
  schema = await testSchema('outbox');
  broker = await RabbitMqTransport.connect({ url: RABBITMQ_URL, connectionName: 'outbox-test' });
  relay = await startTcpRelay(RABBITMQ_URL, 5672);
  // A short operation timeout: a publish while the broker is away gives up quickly instead of after 30 s.
  viaRelay = await RabbitMqTransport.connect({ url: relay.url, connectionName: 'outbox-test-gateway', operationTimeoutMs: 500 });
  actor = actorFromQueue(queues.name('outbox'));
  missing = actorFromQueue(queues.name('outbox-missing'));
  await broker.ensureQueue(queueName(actor));
  const tools = `
tools:
- name: work
  parameters: {n: {type: integer, required: true}}
  route: [${actor}]
  timeout: 600
`;
  // The lease is how long the call path owns a fresh entry before the relay may publish it too. At 300 ms a
  // loaded machine let the relay republish the first test's envelope (at least once, by design) into the
  // second test's queue; 5 s keeps the relay out of the first test and costs the second one 5 s of waiting.
  gw = await startTestGateway({ schema, tools, transport: viaRelay, config: { outboxLeaseMs: 5_000, outboxIntervalMs: 100 } });
  sql = postgres(schema.url, { max: 1, onnotice: () => {}, connection: { search_path: schema.name } });
});

afterAll(async () => {
  await gw?.stop();
  await viaRelay?.close();
  await relay?.close();
  await queues.cleanup(broker);
  await broker?.close();
  await sql?.end();
  await schema?.drop();
});

async function call(n: number) {
  const res = await fetch(`${gw.url}/tools/call`, { method: 'POST', body: JSON.stringify({ name: 'work', arguments: { n } }) });
  const body = (await res.json()) as { content: Array<{ text: string }>; isError?: boolean };
  return { ...body, id: (JSON.parse(body.content[0]!.text) as { envelope_id?: string }).envelope_id };
}

const entries = async (id: string) => (await sql`select envelope_id from envelope_outbox where envelope_id = ${id}`).length;

describe('the gateway outbox', () => {
  it('deletes the entry of a confirmed publish, so nothing is published twice', async () => {
    const created = await call(1);
    expect(created.isError).toBeUndefined();
    expect(await takePublished(broker, actor)).toMatchObject({ id: created.id, payload: { n: 1 } });
    await waitUntil(async () => (await entries(created.id!)) === 0, 10_000, 'outbox entry deleted');
  });

  it('answers a call whose publish was not confirmed as created, and publishes it once the broker is back', async () => {
    await relay.down();
    try {
      const created = await call(2);
      // Saved and accepted: the outbox owns it now, the envelope is neither failed nor lost.
      expect(created.isError).toBeUndefined();
      expect(created.content[0]!.text).toContain('Envelope created successfully');
      expect(await entries(created.id!)).toBe(1);
      expect(await gw.store.get(created.id!)).toMatchObject({ status: 'pending', error: null });
      await relay.up();
      expect(await takePublished(broker, actor, 30_000)).toMatchObject({ id: created.id, payload: { n: 2 } });
      await waitUntil(async () => (await entries(created.id!)) === 0, 10_000, 'outbox entry deleted');
      expect(await gw.gateway.deps.metrics.registry.getSingleMetricAsString('asya_gateway_outbox_published_total')).toMatch(/ [1-9]\d*$/m);
    } finally {
      await relay.up();
    }
  });

  it('fails an envelope the relay finds the broker refuses, with the reason', async () => {
    const id = `outbox-refused-${Date.now()}`;
    await gw.store.create({ id, actors: [missing], payload: null, outbox: { leaseMs: 0 } });
    await waitUntil(async () => (await gw.store.get(id))?.status === 'failed', 10_000, 'refusal recorded');
    expect((await gw.store.get(id))?.error).toMatch(/^failed to send envelope: .*asya-.*outbox-missing/);
    await waitUntil(async () => (await entries(id)) === 0, 10_000, 'outbox entry dropped');
  });
});
