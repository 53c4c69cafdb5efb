/**
 * A long gateway outage (its PostgreSQL away, so every final report answers 503) must not spend the
 * delivery budget of happy-end's and error-end's queues. Real gateway on a schema of its own behind a relay
 * that takes the database away, real crews (`startCrew`) and a real actor on RabbitMQ. The end queues are
 * declared with a delivery limit of 2, and the outage lasts until every envelope was handed to its crew
 * more often than that: the old behaviour (a requeue per failed report) would have dead-lettered each one.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { RunningCrew } from '../cli/crew.ts';
import { dlqCommand } from '../cli/dlq.ts';
import { startTestGateway, testSchema, type TestGateway } from './support/gateway-harness.ts';
import { actorQueueOptions, dlqName, queueName, type DeadLetterRecord } from '../protocol/index.ts';
import { parseDuration } from '../protocol/duration.ts';
import { RabbitMqTransport } from '../transport/rabbitmq/rabbitmq.ts';
import type { Delivery, Transport } from '../transport/transport.ts';
import { startActor, startTestCrew, type Actor } from './support/pipeline.ts';
import { startOutageRelay, type PostgresOutage, type TestSchema } from './support/postgres.ts';
import { DLQ_IDLE_MS } from './support/queues.ts';
import { RABBITMQ_URL } from './support/rabbitmq.ts';
import { errorText } from '../protocol/errors.ts';

const suffix = randomUUID().slice(0, 8);
const names = { actor: `outage-${suffix}`, happy: `happy-end-${suffix}`, error: `error-end-${suffix}`, dlq: `asya-dlq-${suffix}` };
const CREW_RUNTIME_TIMEOUT = '4s';
const TOOLS = `
tools:
- name: outage_${suffix.replace(/-/g, '_')}
  parameters: {counter: {type: string, required: true}, failures: {type: integer, required: true}}
  route: [${names.actor}]
`;

let transport: RabbitMqTransport;
let schema: TestSchema;
let relay: PostgresOutage;
let gateway: TestGateway;
let work: string;
const crews: RunningCrew[] = [];
let actor: Actor | undefined;
/** Every delivery the crews were handed: queue and delivery count. */
const deliveries: Array<{ queue: string; id: string; count: number }> = [];
const MAX_DELIVERIES = 2;

/** The crews' transport, recording each delivery on its way to the sidecar (the broker's own count). */
function recording(inner: Transport): Transport {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'consume') {
        return (queue: string, handler: (d: Delivery) => Promise<void>, options?: { concurrency?: number }) =>
          target.consume(queue, (d) => {
            deliveries.push({ queue, id: String(JSON.parse(d.body.toString('utf8')).id), count: d.deliveryCount });
            return handler(d);
          }, options);
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

async function counter(crew: RunningCrew, metric: string): Promise<number> {
  const found = crew.sidecar.metrics.registry.getSingleMetric(`asya_actor_${metric}`);
  const values = found ? (await found.get()).values : [];
  return values.reduce((sum, v) => sum + v.value, 0);
}

async function statusOf(id: string): Promise<string> {
  try {
    const res = await fetch(`${gateway.url}/envelopes/${id}`, { signal: AbortSignal.timeout(5_000) });
    return res.status === 200 ? ((await res.json()) as { status: string }).status : `http ${res.status}`;
  } catch (err) {
    return errorText(err);
  }
}

beforeAll(async () => {
  transport = await RabbitMqTransport.connect({ url: RABBITMQ_URL, connectionName: `crew-outage-${suffix}` });
  work = mkdtempSync(join(tmpdir(), 'asya-crew-outage-'));
  schema = await testSchema('crew_outage');
  relay = await startOutageRelay(schema.url);
  gateway = await startTestGateway({ schema: { ...schema, url: relay.url }, tools: TOOLS, transport, store: { connectTimeoutSeconds: 1 } });
  const crewTimeoutMs = parseDuration(CREW_RUNTIME_TIMEOUT, 'timeout');
  for (const end of [names.happy, names.error]) await transport.ensureQueue(queueName(end), { ...actorQueueOptions(crewTimeoutMs), maxDeliveries: MAX_DELIVERIES });
  await transport.ensureQueue(queueName(names.actor), actorQueueOptions(30_000));
}, 60_000);

afterAll(async () => {
  await actor?.stop();
  await Promise.allSettled(crews.map((c) => c.stop()));
  for (const q of [names.actor, names.happy, names.error].flatMap((a) => [queueName(a), dlqName(a)]).concat(names.dlq)) {
    await transport?.deleteQueue(q).catch(() => {});
  }
  await gateway?.stop();
  await relay?.close();
  await schema?.drop();
  await transport?.close();
  rmSync(work, { recursive: true, force: true });
});

test('the database away for longer than the old retry budget: no redelivery is spent, and every envelope reaches its final state', async () => {
  const call = async (failures: number) => {
    const res = await fetch(`${gateway.url}/tools/call`, {
      method: 'POST',
      body: JSON.stringify({ name: `outage_${suffix.replace(/-/g, '_')}`, arguments: { counter: join(work, `${randomUUID()}.log`), failures } }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { content: Array<{ text: string }> };
    return (JSON.parse(body.content[0]!.text) as { envelope_id: string }).envelope_id;
  };
  const good = [await call(0), await call(0)];
  const bad = [await call(99), await call(99)];

  // The envelopes wait in the actor's queue; the database goes away before anything works on them.
  await relay.down();
  expect((await fetch(`${gateway.url}/ready`)).status).toBe(503);
  const endEnv = { ASYA_ACTOR_HAPPY_END: names.happy, ASYA_ACTOR_ERROR_END: names.error, ASYA_GATEWAY_URL: gateway.url };
  const crewEnv = {
    ...process.env,
    ...endEnv,
    ASYA_RESULTS_DIR: join(work, 'results'),
    ASYA_DLQ_QUEUE: names.dlq,
    ASYA_RUNTIME_TIMEOUT: CREW_RUNTIME_TIMEOUT,
    ASYA_RUNTIME_READY_TIMEOUT: '60s',
    ASYA_METRICS_ENABLED: 'false',
    ASYA_LOG_LEVEL: 'ERROR',
    ASYA_CONCURRENCY: '4',
  };
  const crewTransport = recording(transport);
  crews.push(...(await Promise.all([startTestCrew('happy-end', { env: crewEnv, transport: crewTransport }), startTestCrew('error-end', { env: crewEnv, transport: crewTransport })])));
  const [happy, error] = crews as [RunningCrew, RunningCrew];
  actor = await startActor(transport, names.actor, {
    kind: 'node',
    fixture: 'flaky',
    sidecarEnv: { ...endEnv, ASYA_RETRY_POLICY: JSON.stringify({ maxAttempts: 1 }) },
  });

  // Precondition: both crews met the unavailable gateway, and every envelope was handed to its crew more
  // often than its queue's delivery limit allows; each time as a first delivery, so nothing was spent.
  const handedOver = (queue: string, id: string) => deliveries.filter((d) => d.queue === queue && d.id === id).length;
  for (const [crew, ids] of [[happy, good], [error, bad]] as const) {
    for (const id of ids) await expect.poll(() => handedOver(queueName(crew.name), id), { timeout: 60_000 }).toBeGreaterThan(MAX_DELIVERIES);
    expect(await counter(crew, 'gateway_unavailable_total')).toBeGreaterThan(MAX_DELIVERIES * ids.length);
    expect(await counter(crew, 'messages_given_back_total')).toBeGreaterThanOrEqual(MAX_DELIVERIES * ids.length);
  }
  expect(deliveries.filter((d) => d.count !== 1)).toEqual([]);
  for (const end of [names.happy, names.error]) expect((await transport.queueDepth(dlqName(end))).ready).toBe(0);

  await relay.up();
  for (const id of good) await expect.poll(() => statusOf(id), { timeout: 60_000 }).toBe('succeeded');
  for (const id of bad) await expect.poll(() => statusOf(id), { timeout: 60_000 }).toBe('failed');
  for (const end of [names.happy, names.error]) {
    await expect.poll(async () => {
      const d = await transport.queueDepth(queueName(end));
      return d.ready + d.inFlight;
    }, { timeout: 30_000 }).toBe(0);
    expect((await transport.queueDepth(dlqName(end))).ready).toBe(0);
  }
  expect(deliveries.filter((d) => d.count !== 1)).toEqual([]);
  // error-end's own dead letters are the designed end of the failing envelopes: one record each.
  let listed = '';
  expect(await dlqCommand(['list', '--json', '--queue', names.dlq], { transport, out: (t) => (listed += t), idleMs: DLQ_IDLE_MS })).toBe(0);
  const records = JSON.parse(listed) as DeadLetterRecord[];
  expect(records.map((r) => r.id).sort()).toEqual([...bad].sort());
}, 180_000);
