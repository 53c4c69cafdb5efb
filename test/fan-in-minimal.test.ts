/**
 * Fan-in in the minimal pattern: no gateway anywhere. `split` and `score` actors (Node runtimes behind
 * sidecars, the handlers of test/fan-in.case.ts) on the shared RabbitMQ, and fan-in actors that keep their
 * state in a PostgreSQL schema of this file's own (ASYA_FAN_IN_DATABASE_URL). Envelopes go straight onto the
 * first actor's queue; the combined envelopes go to a `collect` queue this file reads.
 *
 * The crash case runs the fan-in's sidecar as a process of its own and kills it with SIGKILL while a fan-out
 * of 10 is joining, then starts a new one; each time exactly one combined envelope must arrive, in order.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { RunningCrew } from '../cli/crew.ts';
import { queueName } from '../protocol/index.ts';
import type { Consumer, Transport } from '../transport/transport.ts';
import { brokerSession } from './support/brokers.ts';
import { waitUntil } from './support/gateway-harness.ts';
import { fixtureGate, type FixtureGate } from './support/gated-handler.ts';
import { startActor, startTestCrew, type Actor } from './support/pipeline.ts';
import { deleteQueuesWithDeadLetters, waitDrained } from './support/queues.ts';
import { createTestSchema, testDatabaseUrl, type TestSchema } from './support/postgres.ts';
import { REPO_ROOT, startRuntime, type RuntimeProcess } from './support/runtime-process.ts';
import { spawnSidecar, type SidecarProcess } from './support/sidecar-process.ts';

const HANDLERS = join(REPO_ROOT, 'test/support/fan-in-handlers.ts');
const FAN_IN_HANDLER = `${join(REPO_ROOT, 'crew/fan-in.ts')}#handle`;
const KILLS = 5;

type Combined = { id: string; parent_id?: string; route: { actors: string[]; current: number }; headers?: Record<string, unknown>; payload: unknown };

const session = brokerSession('rabbitmq');

describe('fan-in without a gateway (minimal pattern), on RabbitMQ and PostgreSQL', () => {
  const suffix = randomUUID().slice(0, 8);
  const names = {
    split: `fim-split-${suffix}`,
    score: `fim-score-${suffix}`,
    join: `fim-join-${suffix}`,
    timeout: `fim-timeout-${suffix}`,
    collect: `fim-collect-${suffix}`,
    happy: `fim-happy-${suffix}`,
    error: `fim-error-${suffix}`,
  };
  const ends = { ASYA_ACTOR_HAPPY_END: names.happy, ASYA_ACTOR_ERROR_END: names.error };
  let transport: Transport;
  let schema: TestSchema;
  let sql: ReturnType<typeof postgres>;
  let collector: Consumer;
  const collected: Combined[] = [];
  const actors: Actor[] = [];
  let crew: RunningCrew | undefined;
  let runtime: RuntimeProcess | undefined;
  let sidecar: SidecarProcess | undefined;
  const gates: FixtureGate[] = [];

  const startFanInSidecar = async () => {
    sidecar = spawnSidecar({
      ...session.env(),
      ...ends,
      ASYA_ACTOR_NAME: names.join,
      ASYA_IS_END_ACTOR: 'true',
      ASYA_SOCKET_DIR: runtime!.dir,
      ASYA_CONCURRENCY: '4',
      ASYA_RUNTIME_READY_TIMEOUT: '60s',
    });
    await sidecar.consuming;
  };

  beforeAll(async () => {
    transport = await session.makeTransport();
    schema = await createTestSchema('fanin_minimal');
    const database = { ASYA_FAN_IN_DATABASE_URL: testDatabaseUrl, ASYA_FAN_IN_DATABASE_SCHEMA: schema.name };
    const actor = async (name: string, handler: string, concurrency: string) => {
      actors.push(await startActor(transport, name, { kind: 'node', fixture: 'echo', sidecarEnv: { ...ends, ASYA_CONCURRENCY: concurrency }, runtimeEnv: { ASYA_HANDLER: `${HANDLERS}#${handler}` } }));
    };
    await actor(names.split, 'split', '4');
    await actor(names.score, 'score', '8');
    await transport.ensureQueue(queueName(names.collect), { maxDeliveries: 10 });
    collector = await transport.consume(queueName(names.collect), async (delivery) => {
      collected.push(JSON.parse(delivery.body.toString('utf8')) as Combined);
      await transport.ack(delivery);
    });
    const fanInEnv = { ...(process.env as Record<string, string>), ...session.env(), ...ends, ...database, ASYA_METRICS_ENABLED: 'false', ASYA_LOG_LEVEL: 'ERROR', ASYA_RUNTIME_READY_TIMEOUT: '60s' };
    crew = await startTestCrew('fan-in', { env: { ...fanInEnv, ASYA_ACTOR_NAME: names.timeout, ASYA_FAN_IN_TIMEOUT: '2s' }, transport });
    runtime = await startRuntime('node', {
      handler: FAN_IN_HANDLER,
      env: { ...session.env(), ...ends, ...database, ASYA_HANDLER_MODE: 'envelope', ASYA_ENABLE_VALIDATION: 'false', ASYA_LOG_LEVEL: 'ERROR' },
      waitReady: false,
    });
    await startFanInSidecar();
    sql = postgres(testDatabaseUrl, { max: 1, onnotice: () => {} });
  }, 240_000);

  afterAll(async () => {
    for (const gate of gates) {
      gate.open();
      gate.dispose();
    }
    await collector?.stop();
    sidecar?.child.kill('SIGKILL');
    await runtime?.stop();
    await crew?.stop();
    await Promise.allSettled(actors.map((a) => a.stop()));
    if (transport) await deleteQueuesWithDeadLetters(transport, Object.values(names).map(queueName));
    await sql?.end();
    await schema?.drop();
    await transport?.close();
  }, 120_000);

  const send = async (route: string[], payload: unknown) => {
    const id = `fim-${randomUUID()}`;
    await transport.publish(queueName(route[0]!), Buffer.from(JSON.stringify({ id, route: { actors: route, current: 0 }, payload })));
    return id;
  };
  const combinedOf = (id: string) => collected.filter((c) => c.id === id);
  const waitCombined = (id: string, timeoutMs = 60_000) => waitUntil(() => combinedOf(id).length > 0, timeoutMs, `combined envelope ${id}`);
  const chunkResults = (count: number) => Array.from({ length: count }, (_, index) => ({ index, score: index * 10 }));
  const table = (name: string) => sql(`${schema.name}.${name}`);

  /** Nothing more can come for this parent: its outbox entry is gone and a marker sent after that has arrived. */
  const settledCount = async (id: string): Promise<number> => {
    await waitUntil(async () => {
      const fanIn = await sql`select outcome from ${table('fan_ins')} where parent_id = ${id}`;
      const pending = await sql`select 1 from ${table('fan_in_outbox')} where parent_id = ${id}`;
      return typeof fanIn[0]?.outcome === 'string' && pending.length === 0;
    }, 30_000, `fan-in of ${id} concluded and its outbox empty`);
    const marker = `marker-${randomUUID()}`;
    await transport.publish(queueName(names.collect), Buffer.from(JSON.stringify({ id: marker, route: { actors: [names.collect], current: 0 }, payload: null })));
    await waitUntil(() => combinedOf(marker).length === 1, 30_000, 'marker');
    return combinedOf(id).length;
  };

  test(`a fan-out of 10 through fan-in, its sidecar killed with SIGKILL mid-way ${KILLS} times: exactly one combined envelope each time, results in order`, async () => {
    for (let run = 0; run < KILLS; run++) {
      const id = await send([names.split, names.score, names.join, names.collect], { count: 10 });
      // Kill after a different number of children joined each time.
      const joinedBeforeKill = (run * 2) % 10;
      await waitUntil(async () => {
        const [row] = await sql`select count(*)::int as n from ${table('fan_in_arrivals')} where parent_id = ${id}`.catch(() => [{ n: 0 }]);
        return Number(row?.n ?? 0) >= joinedBeforeKill;
      }, 60_000, `${joinedBeforeKill} children joined`);
      sidecar!.child.kill('SIGKILL');
      await sidecar!.exited;
      await startFanInSidecar();
      await waitCombined(id);
      expect(await settledCount(id), `run ${run}: combined envelopes of ${id}`).toBe(1);
      const [combined] = combinedOf(id);
      expect(combined!.route.current).toBe(3);
      expect(combined!.parent_id).toBeUndefined();
      expect(combined!.headers?.['x-asya-fan-out']).toBeUndefined();
      expect(combined!.payload).toEqual(chunkResults(10));
    }
  }, 300_000);

  test('wait-all: children that never arrive time out, keep their place marked, and the route goes on; stragglers change nothing', async () => {
    const gate = fixtureGate();
    gates.push(gate);
    const id = await send([names.split, names.score, names.timeout, names.collect], { count: 10, dropping: '1,8', gate_dir: gate.dir });
    await waitCombined(id);
    const payload = combinedOf(id)[0]!.payload as unknown[];
    expect(payload).toHaveLength(10);
    for (const i of [1, 8]) {
      expect(payload[i]).toEqual({ fan_in_error: { id: `${id}-${i}`, index: i, error: `did not reach fan-in ${names.timeout} within 2000 ms` } });
    }
    expect(payload.filter((_, i) => i !== 1 && i !== 8)).toEqual(chunkResults(10).filter((_, i) => i !== 1 && i !== 8));
    gate.open();
    await waitDrained(transport, [queueName(names.score), queueName(names.timeout)], 60_000);
    expect(await settledCount(id)).toBe(1);
    const arrived = await sql`select index from ${table('fan_in_arrivals')} where parent_id = ${id} order by index`;
    expect(arrived.map((r) => r.index)).toEqual([0, 2, 3, 4, 5, 6, 7, 9]);
  }, 120_000);

  test('nested fan-outs fan in level by level', async () => {
    const id = await send([names.split, names.split, names.score, names.join, names.join, names.collect], { count: 3 });
    await waitCombined(id);
    const [combined] = combinedOf(id);
    expect(combined!.route.current).toBe(5);
    expect(combined!.payload).toEqual([0, 1, 2].map(() => chunkResults(3)));
    for (const i of [0, 1, 2]) expect(combinedOf(`${id}-${i}`)).toEqual([]);
    expect(await settledCount(id)).toBe(1);
  }, 120_000);
});
