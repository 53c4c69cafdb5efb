/**
 * Concurrent repeats (issue 18): one idempotency key sent 20 times at once, split over two gateway replicas
 * on one PostgreSQL, each with its own RabbitMQ connection, makes exactly one envelope and one message on
 * the real queue.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actorFromQueue } from '../protocol/queues.ts';
import type { TestSchema } from '../test/support/postgres.ts';
import { RABBITMQ_URL, TestQueues } from '../test/support/rabbitmq.ts';
import { RabbitMqTransport } from '../transport/rabbitmq/rabbitmq.ts';
import { startTestGateway, takePublished, testSchema, waitUntil, type TestGateway } from '../test/support/gateway-harness.ts';

let schema: TestSchema;
let sql: postgres.Sql;
const transports: RabbitMqTransport[] = [];
const replicas: TestGateway[] = [];
const queues = new TestQueues();
let actor: string;

beforeAll(async () => {
  schema = await testSchema('idemrep');
  sql = postgres(schema.url, { max: 1, onnotice: () => {}, connection: { search_path: schema.name } });
  for (const name of ['idem-a', 'idem-b']) transports.push(await RabbitMqTransport.connect({ url: RABBITMQ_URL, connectionName: name }));
  actor = actorFromQueue(queues.name('idem-first'));
  await transports[0]!.ensureQueue(`asya-${actor}`);
  const tools = `
tools:
- name: ingest
  parameters: {doc: {type: string, required: true}}
  route: [${actor}]
  timeout: 120
`;
  for (const transport of transports) replicas.push(await startTestGateway({ schema, tools, transport }));
});

afterAll(async () => {
  await Promise.allSettled(replicas.map((g) => g.stop()));
  if (transports[0]) await queues.cleanup(transports[0]);
  await Promise.allSettled(transports.map((t) => t.close()));
  await sql?.end();
  await schema?.drop();
});

describe('concurrent repeats on two replicas', () => {
  it('20 calls with one key make one envelope and publish it once', async () => {
    const key = `order-${Date.now().toString(36)}`;
    const answers = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
      const res = await fetch(`${replicas[i % 2]!.url}/tools/call`, {
        method: 'POST',
        headers: { 'idempotency-key': key },
        body: JSON.stringify({ name: 'ingest', arguments: { doc: 'quarterly report' } }),
      });
      const body = (await res.json()) as { content: Array<{ text: string }>; isError?: boolean };
      const { envelope_id } = JSON.parse(body.content[0]!.text) as { envelope_id: string };
      return { status: res.status, replayed: res.headers.get('idempotent-replayed'), id: envelope_id, isError: body.isError };
    }));
    expect(answers.every((a) => a.status === 200 && a.isError === undefined)).toBe(true);
    const id = answers[0]!.id;
    expect(answers.map((a) => a.id)).toEqual(Array(20).fill(id));
    // Exactly one call created it; the other 19 were told they repeated it.
    expect(answers.filter((a) => a.replayed === null)).toHaveLength(1);
    expect(answers.filter((a) => a.replayed === 'true')).toHaveLength(19);

    const rows = await sql`select id, idempotency_key from envelopes where tool_name = 'ingest'`;
    expect(rows.map((r) => [r.id, r.idempotency_key])).toEqual([[id, key]]);
    expect((await sql`select count(*)::int as n from envelope_updates where envelope_id = ${id}`)[0]!.n).toBe(1);

    // Publish once: the creator's publish was confirmed and its outbox entry deleted, so no relay on either
    // replica has anything left to send; then the queue holds exactly that one message.
    await waitUntil(async () => (await sql`select count(*)::int as n from envelope_outbox`)[0]!.n === 0, 10_000, 'the outbox entry deleted');
    for (const gw of replicas) expect(await gw.gateway.outboxRelay!.relayOnce()).toBe(0);
    expect(await transports[0]!.queueDepth(`asya-${actor}`)).toMatchObject({ ready: 1, inFlight: 0 });
    expect((await takePublished(transports[0]!, actor)).id).toBe(id);
    expect(await transports[0]!.queueDepth(`asya-${actor}`)).toMatchObject({ ready: 0, inFlight: 0 });
  });
});
