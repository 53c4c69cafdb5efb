/** The minimal pattern's fan-in store on a real PostgreSQL (a schema of this file's own), and its settings. */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLogger } from '../protocol/index.ts';
import type { FanInPolicy } from '../protocol/fan-in.ts';
import { gatewayClient } from '../protocol/gateway-client.ts';
import { waitUntil } from '../test/support/gateway-harness.ts';
import { createTestSchema, testDatabaseUrl, type TestSchema } from '../test/support/postgres.ts';
import { CrewConfigError, type CrewConfig } from './config.ts';
import { createFanIn, fanInOptionsFromEnv } from './fan-in.ts';
import { FanInStore, type MinimalArrival } from './fan-in-store.ts';
import { DEFAULT_RETRY_POLICY } from './retry-policy.ts';
import { FileStorage } from './storage.ts';

let schema: TestSchema;
let store: FanInStore;
let n = 0;

beforeAll(async () => {
  schema = await createTestSchema('crew_fan_in');
  store = new FanInStore(testDatabaseUrl, schema.name);
});
afterAll(async () => {
  await store?.close();
  await schema?.drop();
});

const arrival = (parent: string, index: number, size: number, policy: FanInPolicy = 'wait-all', timeoutMs = 600_000): MinimalArrival => ({
  level: { parent_id: parent, index, size },
  childId: `${parent}-${index}`,
  actor: 'fan-in',
  policy,
  timeoutMs,
  combined: { id: parent, route: { actors: ['a', 'fan-in', 'b'], current: 2 } },
  queue: 'asya-b',
  payload: { index },
});

describe('FanInStore (minimal pattern)', () => {
  test('arrivals in any order, redelivered ones included, write exactly one combined envelope, in fan-out order', async () => {
    const parent = `p${++n}`;
    const answers = [];
    for (const index of [2, 0, 2, 1]) answers.push((await store.arrive(arrival(parent, index, 3))).status);
    expect(answers).toEqual(['waiting', 'waiting', 'ignored', 'emitted']);
    expect((await store.arrive(arrival(parent, 0, 3))).status).toBe('ignored');
    const due = (await store.claimOutbox(60_000)).filter((m) => m.parentId === parent);
    expect(due).toHaveLength(1);
    expect(due[0]!.queue).toBe('asya-b');
    expect(JSON.parse(due[0]!.body.toString())).toEqual({ id: parent, route: { actors: ['a', 'fan-in', 'b'], current: 2 }, payload: [{ index: 0 }, { index: 1 }, { index: 2 }] });
    // Leased: a second publisher does not get it while the first holds it.
    expect((await store.claimOutbox(60_000)).filter((m) => m.parentId === parent)).toEqual([]);
    await store.markPublished(parent);
    const sql = postgres(testDatabaseUrl, { max: 1, onnotice: () => {} });
    try {
      expect(await sql`select 1 from ${sql(schema.name)}.fan_in_outbox where parent_id = ${parent}`).toHaveLength(0);
    } finally {
      await sql.end();
    }
  });

  test('past the timeout the missing children count as failed: wait-all emits them marked, fail-fast ends without output', async () => {
    const waitAll = `p${++n}`;
    const failFast = `p${++n}`;
    expect((await store.arrive(arrival(waitAll, 0, 2, 'wait-all', 1))).status).toBe('waiting');
    expect((await store.arrive(arrival(failFast, 1, 2, 'fail-fast', 1))).status).toBe('waiting');
    const settled = new Set<string>();
    await waitUntil(async () => {
      for (const id of await store.expire()) settled.add(id);
      return settled.has(waitAll) && settled.has(failFast);
    }, 30_000, 'both fan-ins expired');
    const due = (await store.claimOutbox(60_000)).filter((m) => m.parentId === waitAll || m.parentId === failFast);
    expect(due.map((m) => m.parentId)).toEqual([waitAll]);
    expect(JSON.parse(due[0]!.body.toString()).payload).toEqual([{ index: 0 }, { fan_in_error: { id: `${waitAll}-1`, index: 1, error: 'did not reach fan-in fan-in within 1 ms' } }]);
    // A straggler after the end changes nothing.
    expect(await store.arrive(arrival(failFast, 0, 2, 'fail-fast', 1))).toEqual({ status: 'ignored', reason: 'the fan-in has failed' });
    expect(await store.arrive(arrival(waitAll, 1, 2, 'wait-all', 1))).toEqual({ status: 'ignored', reason: 'the fan-in has emitted' });
  });

  test('creating the schema is idempotent, also from several stores at once', async () => {
    const others = [0, 1, 2].map(() => new FanInStore(testDatabaseUrl, schema.name));
    try {
      await Promise.all(others.map((s) => s.migrate()));
    } finally {
      await Promise.all(others.map((s) => s.close()));
    }
  });
});

describe('fan-in settings', () => {
  const log = createLogger('ERROR', 'test.fan-in');
  const config = (gateway: boolean): CrewConfig => ({
    storage: new FileStorage('/nonexistent'),
    resultsPrefix: '',
    errorsPrefix: '',
    ...(gateway ? { gateway: gatewayClient({ url: 'http://127.0.0.1:9', token: 't', log, attempts: 1, retryDelayMs: 1 }) } : {}),
    happyEnd: 'happy-end',
    errorEnd: 'error-end',
    dlqQueue: 'asya-dlq',
    defaultPolicy: DEFAULT_RETRY_POLICY,
    log,
  });

  test('ASYA_FAN_IN_DATABASE_URL selects the minimal pattern, with its schema', () => {
    expect(fanInOptionsFromEnv({}).database).toBeUndefined();
    expect(fanInOptionsFromEnv({ ASYA_FAN_IN_DATABASE_URL: 'postgres://h/db' }).database).toEqual({ url: 'postgres://h/db', schema: 'asya_fan_in' });
    expect(fanInOptionsFromEnv({ ASYA_FAN_IN_DATABASE_URL: 'postgres://h/db', ASYA_FAN_IN_DATABASE_SCHEMA: 's' }).database).toEqual({ url: 'postgres://h/db', schema: 's' });
  });

  test('a gateway and a database of its own at once is refused, naming both settings', () => {
    const options = { ...fanInOptionsFromEnv({ ASYA_FAN_IN_DATABASE_URL: 'postgres://h/db' }) };
    expect(() => createFanIn(config(true), options)).toThrow(CrewConfigError);
    expect(() => createFanIn(config(true), options)).toThrow(/ASYA_GATEWAY_URL.*ASYA_FAN_IN_DATABASE_URL/);
  });

  test('with neither, a fan-out child is refused naming both settings', async () => {
    const handler = createFanIn(config(false), fanInOptionsFromEnv({}));
    const child = { id: 'P-0', parent_id: 'P', route: { actors: ['a', 'fan-in'], current: 1 }, payload: 1 };
    await expect(handler(child)).rejects.toThrow(/set ASYA_GATEWAY_URL or ASYA_FAN_IN_DATABASE_URL/);
  });
});
