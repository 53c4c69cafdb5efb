/**
 * A gateway killed between saving tool calls and publishing them: the next gateway on the same store
 * publishes every saved envelope, and none is timed out. The first gateway talks to RabbitMQ through a
 * relay that stalls its connection the way a memory alarm does (the broker stops reading from publishers),
 * so its publishes are sent and never confirmed; the shared broker itself is never touched.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../protocol/envelope.ts';
import { queueName } from '../protocol/queues.ts';
import type { TestSchema } from '../test/support/postgres.ts';
import { RABBITMQ_URL, uniqueQueueName } from '../test/support/rabbitmq.ts';
import { startTcpRelay } from '../test/support/tcp-relay.ts';
import { RabbitMqTransport } from '../transport/rabbitmq.ts';
import { runGatewayProcess, testSchema, waitUntil } from './test-harness.ts';

const CALLS = 12;
let schema: TestSchema;
let dir: string;
let broker: RabbitMqTransport;
const actors: string[] = [];

beforeAll(async () => {
  schema = await testSchema('outbox_crash');
  dir = await mkdtemp(join(tmpdir(), 'asya-gw-outbox-'));
  broker = await RabbitMqTransport.connect({ url: RABBITMQ_URL, connectionName: 'outbox-crash-test' });
});

afterAll(async () => {
  for (const actor of actors) await broker?.deleteQueue(queueName(actor)).catch(() => {});
  await broker?.close();
  await schema?.drop();
  await rm(dir, { recursive: true, force: true });
});

interface Listed {
  envelopes: Array<{ id: string; status: string; error?: string }>;
}

async function listed(url: string, tool: string): Promise<Listed['envelopes']> {
  const res = await fetch(`${url}/envelopes?tool=${tool}&limit=500`);
  return ((await res.json()) as Listed).envelopes;
}

/** Everything published to the actor's queue, by envelope id (a repeat is allowed: at-least-once). */
async function collect(actor: string) {
  const seen = new Map<string, Envelope>();
  const consumer = await broker.consume(queueName(actor), async (delivery) => {
    const envelope = JSON.parse(delivery.body.toString('utf8')) as Envelope;
    seen.set(envelope.id, envelope);
    await broker.ack(delivery);
  }, { concurrency: 16 });
  return { seen, stop: () => consumer.stop() };
}

async function crashAndRestart(storeEnv: Record<string, string>): Promise<void> {
  const actor = uniqueQueueName('outbox').replace(/^asya-/, '');
  actors.push(actor);
  await broker.ensureQueue(queueName(actor));
  const tools = join(dir, `${actor}.yaml`);
  await writeFile(tools, `tools:\n- name: work\n  parameters: {n: {type: integer, required: true}}\n  route: [${actor}]\n  timeout: 600\n`);
  const env = {
    ...storeEnv, ASYA_GATEWAY_HOST: '127.0.0.1', ASYA_GATEWAY_PORT: '0', ASYA_TRANSPORT: 'rabbitmq',
    ASYA_GATEWAY_OUTBOX_LEASE: '1s', ASYA_GATEWAY_OUTBOX_INTERVAL: '200ms',
  };

  const relay = await startTcpRelay(RABBITMQ_URL, 5672);
  const first = runGatewayProcess(['--config', tools], { ...env, ASYA_RABBITMQ_URL: relay.url });
  let saved: string[] = [];
  try {
    const url = await first.listening();
    // The embedded store boots in the gateway's own thread: a kept-alive probe connection can be reset meanwhile.
    const ready = () => fetch(`${url}/ready`).then((r) => r.status === 200, () => false);
    await waitUntil(ready, 60_000, 'first gateway ready');
    relay.stall();
    const calls = Array.from({ length: CALLS }, (_, n) =>
      fetch(`${url}/tools/call`, { method: 'POST', body: JSON.stringify({ name: 'work', arguments: { n } }) }).catch(() => undefined),
    );
    await waitUntil(async () => (await listed(url, 'work')).length === CALLS, 30_000, 'every call saved');
    const before = await listed(url, 'work');
    expect(before.map((e) => e.status)).toEqual(Array(CALLS).fill('pending'));
    saved = before.map((e) => e.id).sort();
    // Nothing reached the broker: the calls are saved and waiting for a confirm that never comes.
    expect((await broker.queueDepth(queueName(actor))).ready).toBe(0);
    first.kill('SIGKILL');
    expect(await first.exited).toBeNull();
    await Promise.all(calls);
  } finally {
    first.kill('SIGKILL');
    await relay.close();
  }

  const published = await collect(actor);
  const second = runGatewayProcess(['--config', tools], { ...env, ASYA_RABBITMQ_URL: RABBITMQ_URL });
  try {
    const url = await second.listening();
    await waitUntil(() => published.seen.size === CALLS, 60_000, 'every saved envelope published');
    expect([...published.seen.keys()].sort()).toEqual(saved);
    for (const [id, envelope] of published.seen) {
      expect(envelope).toMatchObject({ id, route: { actors: [actor], current: 0, metadata: { job_id: id } }, payload: { n: expect.any(Number) } });
    }
    expect(new Set([...published.seen.values()].map((e) => (e.payload as { n: number }).n)).size).toBe(CALLS);
    const after = await listed(url, 'work');
    expect(after.filter((e) => e.status !== 'pending')).toEqual([]);
    expect(second.output()).toContain(`published ${CALLS} envelope(s) from the outbox`);
  } finally {
    await published.stop();
    second.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }
}

describe('a gateway killed before its publishes were confirmed', () => {
  it('on PostgreSQL: the next gateway publishes every saved call, none times out', async () => {
    await crashAndRestart({ ASYA_DATABASE_URL: schema.url, ASYA_DATABASE_SCHEMA: schema.name });
  }, 180_000);

  it('on the embedded store with a data directory: the same', async () => {
    await crashAndRestart({ ASYA_GATEWAY_DATA_DIR: join(dir, 'pglite') });
  }, 180_000);
});
