/**
 * A gateway killed between saving tool calls and publishing them: the next gateway on the same store
 * publishes every saved envelope, and none is timed out. The first gateway's publishes are sent and never
 * confirmed, either because a private RabbitMQ node has a memory alarm (it stops reading from publishing
 * connections), or because a relay in front of the shared broker stalls the connection the same way. The
 * shared broker itself is never blocked.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../protocol/envelope.ts';
import { queueName } from '../protocol/queues.ts';
import type { TestSchema } from '../test/support/postgres.ts';
import { startPrivateRabbitmq, type PrivateRabbitmq } from '../test/support/private-rabbitmq.ts';
import { RABBITMQ_URL, uniqueQueueName } from '../test/support/rabbitmq.ts';
import { startTcpRelay } from '../test/support/tcp-relay.ts';
import { RabbitMqTransport } from '../transport/rabbitmq/rabbitmq.ts';
import { runGatewayProcess, testSchema, waitUntil } from '../test/support/gateway-harness.ts';

const CALLS = 12;
let schema: TestSchema;
let dir: string;
let shared: RabbitMqTransport;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  schema = await testSchema('outbox_crash');
  dir = await mkdtemp(join(tmpdir(), 'asya-gw-outbox-'));
  shared = await RabbitMqTransport.connect({ url: RABBITMQ_URL, connectionName: 'outbox-crash-test' });
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await shared?.close();
  await schema?.drop();
  await rm(dir, { recursive: true, force: true });
});

/** Where the first gateway publishes (and is blocked), and where the second one and the test's consumer go. */
interface BlockedBroker {
  firstUrl: string;
  block(): Promise<void>;
  /** After the first gateway is dead. */
  unblock(): Promise<void>;
  secondUrl: string;
  consumer: RabbitMqTransport;
}

async function stalledRelay(): Promise<BlockedBroker> {
  const relay = await startTcpRelay(RABBITMQ_URL, 5672);
  return {
    firstUrl: relay.url,
    block: async () => relay.stall(),
    unblock: () => relay.close(),
    secondUrl: RABBITMQ_URL,
    consumer: shared,
  };
}

let privateNode: PrivateRabbitmq | undefined;
async function memoryAlarm(): Promise<BlockedBroker> {
  privateNode ??= await startPrivateRabbitmq();
  const node = privateNode;
  cleanups.push(() => node.dispose());
  const consumer = await RabbitMqTransport.connect({ url: node.url, connectionName: 'outbox-crash-test-private' });
  cleanups.push(() => consumer.close());
  return {
    firstUrl: node.url,
    block: async () => {
      await node.ctl('set_vm_memory_high_watermark', '0');
      await waitUntil(async () => /memory/.test(await node.ctl('eval', 'rabbit_alarm:get_alarms().')), 30_000, 'memory alarm');
    },
    unblock: async () => {
      await node.ctl('set_vm_memory_high_watermark', '0.4');
    },
    secondUrl: node.url,
    consumer,
  };
}

interface Listed {
  envelopes: Array<{ id: string; status: string; error?: string }>;
}

async function listed(url: string, tool: string): Promise<Listed['envelopes']> {
  const res = await fetch(`${url}/envelopes?tool=${tool}&limit=500`);
  return ((await res.json()) as Listed).envelopes;
}

/** Everything published to the actor's queue, by envelope id (a repeat is allowed: at-least-once). */
async function collect(broker: RabbitMqTransport, actor: string) {
  const seen = new Map<string, Envelope>();
  const consumer = await broker.consume(queueName(actor), async (delivery) => {
    const envelope = JSON.parse(delivery.body.toString('utf8')) as Envelope;
    seen.set(envelope.id, envelope);
    await broker.ack(delivery);
  }, { concurrency: 16 });
  return { seen, stop: () => consumer.stop() };
}

async function crashAndRestart(storeEnv: Record<string, string>, broker: BlockedBroker): Promise<void> {
  const actor = uniqueQueueName('outbox').replace(/^asya-/, '');
  await broker.consumer.ensureQueue(queueName(actor));
  cleanups.push(() => broker.consumer.deleteQueue(queueName(actor)));
  const tools = join(dir, `${actor}.yaml`);
  await writeFile(tools, `tools:\n- name: work\n  parameters: {n: {type: integer, required: true}}\n  route: [${actor}]\n  timeout: 600\n`);
  const env = {
    ...storeEnv, ASYA_GATEWAY_HOST: '127.0.0.1', ASYA_GATEWAY_PORT: '0', ASYA_TRANSPORT: 'rabbitmq',
    ASYA_GATEWAY_OUTBOX_LEASE: '1s', ASYA_GATEWAY_OUTBOX_INTERVAL: '200ms', ASYA_GATEWAY_AUTH: 'none',
  };

  const first = runGatewayProcess(['--config', tools], { ...env, ASYA_RABBITMQ_URL: broker.firstUrl });
  let saved: string[] = [];
  try {
    const url = await first.listening();
    // The embedded store boots in the gateway's own thread: a kept-alive probe connection can be reset meanwhile.
    const ready = () => fetch(`${url}/ready`).then((r) => r.status === 200, () => false);
    await waitUntil(ready, 60_000, 'first gateway ready');
    await broker.block();
    const calls = Array.from({ length: CALLS }, (_, n) =>
      fetch(`${url}/tools/call`, { method: 'POST', body: JSON.stringify({ name: 'work', arguments: { n } }) }).catch(() => undefined),
    );
    await waitUntil(async () => (await listed(url, 'work')).length === CALLS, 30_000, 'every call saved');
    const before = await listed(url, 'work');
    expect(before.map((e) => e.status)).toEqual(Array(CALLS).fill('pending'));
    saved = before.map((e) => e.id).sort();
    // Nothing reached the queue: the calls are saved and waiting for a confirm that does not come.
    expect((await broker.consumer.queueDepth(queueName(actor))).ready).toBe(0);
    first.kill('SIGKILL');
    expect(await first.exited).toBeNull();
    await Promise.all(calls);
  } finally {
    first.kill('SIGKILL');
    await broker.unblock();
  }

  const published = await collect(broker.consumer, actor);
  const second = runGatewayProcess(['--config', tools], { ...env, ASYA_RABBITMQ_URL: broker.secondUrl });
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
  } finally {
    await published.stop();
    second.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }
}

describe('a gateway killed before its publishes were confirmed', () => {
  it('memory alarm on the broker, PostgreSQL: the next gateway publishes every saved call, none times out', async () => {
    await crashAndRestart({ ASYA_DATABASE_URL: schema.url, ASYA_DATABASE_SCHEMA: schema.name }, await memoryAlarm());
  }, 240_000);

  it('stalled broker connection, PostgreSQL: the same', async () => {
    const other = await testSchema('outbox_crash_stall');
    cleanups.push(() => other.drop());
    await crashAndRestart({ ASYA_DATABASE_URL: other.url, ASYA_DATABASE_SCHEMA: other.name }, await stalledRelay());
  }, 180_000);

  it('stalled broker connection, embedded store with a data directory: the same', async () => {
    await crashAndRestart({ ASYA_GATEWAY_DATA_DIR: join(dir, 'pglite') }, await stalledRelay());
  }, 180_000);
});
