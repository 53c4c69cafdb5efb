/**
 * Crashes on real brokers: the sidecar process killed with SIGKILL mid-message, and the broker connection
 * dropped mid-stream. Nothing may be lost.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { queueName } from '../protocol/index.ts';
import { RabbitMqTransport } from '../transport/rabbitmq/rabbitmq.ts';
import { SqsTransport } from '../transport/sqs/sqs.ts';
import type { Transport } from '../transport/transport.ts';
import { startMoto, type MotoServer } from './support/moto.ts';
import { fixtureGate } from './support/gated-handler.ts';
import { collectEnds, envelopeBody, startActor, type Actor } from './support/pipeline.ts';
import { RABBITMQ_URL, forceCloseConnection } from './support/rabbitmq.ts';
import { requireTools } from './support/tools.ts';
import { fixtureHandler, startRuntime, type RuntimeProcess } from './support/runtime-process.ts';
import { spawnSidecar, type SidecarProcess } from './support/sidecar-process.ts';
import { deleteQueuesWithDeadLetters, waitDrained } from './support/queues.ts';

let moto: MotoServer;
beforeAll(async () => {
  moto = await startMoto();
});
afterAll(() => moto?.stop());

const brokers: Array<[string, () => Promise<Transport>, () => Record<string, string>]> = [
  ['RabbitMQ', () => RabbitMqTransport.connect({ url: RABBITMQ_URL, connectionName: `crash-${randomUUID()}` }), () => ({ ASYA_TRANSPORT: 'rabbitmq', ASYA_RABBITMQ_URL: RABBITMQ_URL })],
  [
    'SQS',
    async () => new SqsTransport({ ...moto.clientConfig, waitTimeSeconds: 1 }),
    () => ({ ASYA_TRANSPORT: 'sqs', ASYA_SQS_ENDPOINT: moto.endpoint, ASYA_SQS_WAIT_TIME_SECONDS: '1', ASYA_SQS_VISIBILITY_TIMEOUT: '3', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' }),
  ],
];

describe.each(brokers)('sidecar killed with SIGKILL on %s', (_name, makeTransport, brokerEnv) => {
  let transport: Transport;
  let runtime: RuntimeProcess;
  const gate = fixtureGate();
  const sidecars: SidecarProcess[] = [];
  beforeAll(async () => {
    transport = await makeTransport();
    runtime = await startRuntime('node', { handler: fixtureHandler('node', 'gated') });
  });
  afterAll(async () => {
    for (const s of sidecars) s.child.kill('SIGKILL');
    gate.open(); // a failed test may have left a call held, which the runtime would wait for on SIGTERM
    await runtime.stop();
    gate.dispose();
    await transport.close();
  });

  test('the message it was processing is redelivered and completed once', async () => {
    const ends = await collectEnds(transport, [], true);
    const actor = `crash-${randomUUID().slice(0, 8)}`;
    const env = {
      ...brokerEnv(),
      ...ends.sidecarEnv,
      ASYA_ACTOR_NAME: actor,
      ASYA_SOCKET_DIR: runtime.dir,
      // Short, so SQS makes the message visible again soon after the crash.
      ASYA_RUNTIME_TIMEOUT: '2s',
    };
    const first = spawnSidecar(env);
    sidecars.push(first);
    await first.consuming;
    const id = randomUUID();
    await transport.publish(queueName(actor), envelopeBody(id, [actor], gate.payload));
    // Killed while the handler certainly has the message: it is held in the gated fixture until we open it.
    await expect.poll(() => gate.started(), { timeout: 30_000 }).toBe(1);
    expect((await transport.queueDepth(queueName(actor))).ready).toBe(0);
    first.child.kill('SIGKILL');
    await first.exited;
    gate.open();
    expect(ends.byId(id)).toEqual([]);
    const second = spawnSidecar(env);
    sidecars.push(second);
    await ends.waitForIds([id], 30_000).catch((err: Error) => {
      throw new Error(`${err.message}\nfirst sidecar:\n${first.output()}\nsecond sidecar:\n${second.output()}`);
    });
    // Nothing more can arrive once the actor's queue is empty and every end-queue message was collected.
    await waitDrained(transport, [queueName(actor), ends.happyQueue, ends.errorQueue], 60_000);
    expect(gate.started()).toBe(2);
    expect(ends.byId(id)).toEqual([{ queue: ends.happyQueue, envelope: expect.objectContaining({ payload: gate.payload }) }]);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    await ends.stop();
    await deleteQueuesWithDeadLetters(transport, [queueName(actor)]);
  });
});

describe('RabbitMQ connection dropped mid-stream', () => {
  let transport: RabbitMqTransport;
  let actor: Actor;
  const connectionName = `drop-${randomUUID()}`;
  afterEach(async () => {
    await actor?.stop();
    if (transport && actor) await deleteQueuesWithDeadLetters(transport, [queueName(actor.name)]);
    await transport?.close();
  });

  test('the sidecar reconnects and every message arrives, without acking the wrong delivery', async (ctx) => {
    requireTools(ctx, ['rabbitmqctl']);
    transport = await RabbitMqTransport.connect({ url: RABBITMQ_URL, connectionName });
    const ends = await collectEnds(transport, [], true);
    actor = await startActor(transport, `drop-${randomUUID().slice(0, 8)}`, { kind: 'node', fixture: 'sleep', sidecarEnv: ends.sidecarEnv });
    const ids = Array.from({ length: 40 }, () => randomUUID());
    for (const id of ids) await transport.publish(queueName(actor.name), envelopeBody(id, [actor.name], { seconds: 0.02 }));
    await ends.waitFor((all) => all.length >= 10);
    expect(await forceCloseConnection(connectionName)).toBeGreaterThan(0);
    await ends.waitForIds(ids, 60_000);
    const counts = ids.map((id) => ends.byId(id).length);
    // At-least-once: only a message in flight at the moment of the drop may arrive twice (concurrency 1).
    expect(counts.filter((c) => c > 1).length).toBeLessThanOrEqual(1);
    expect(ends.arrivals.every((a) => a.queue === ends.happyQueue)).toBe(true);
    const depth = await transport.queueDepth(queueName(actor.name));
    expect(depth.ready + depth.inFlight).toBe(0);
    await ends.stop();
  });
});
