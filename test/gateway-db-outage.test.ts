/**
 * The gateway's database really goes down (a private PostgreSQL cluster, stopped) while an envelope is on its
 * way through real actors and the real crew on RabbitMQ. The actors keep routing without the gateway's
 * store; happy-end stores the result and keeps its final report until the gateway can take it; once the
 * database is back, the client sees the envelope succeeded, once.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { RabbitMqTransport } from '../transport/rabbitmq/rabbitmq.ts';
import { isFinalStatus, startE2eWorld, type E2eWorld } from './e2e-world.ts';
import { fixtureGate } from './support/gated-handler.ts';
import { startPrivatePostgres, type PrivatePostgres } from './support/private-postgres.ts';
import { RABBITMQ_URL } from './support/rabbitmq.ts';

const gate = fixtureGate();
const results = mkdtempSync(join(tmpdir(), 'asya-db-outage-results-'));
let database: PrivatePostgres;
let transport: RabbitMqTransport;
let world: E2eWorld;

beforeAll(async () => {
  database = await startPrivatePostgres();
  transport = await RabbitMqTransport.connect({ url: RABBITMQ_URL, connectionName: `db-outage-${randomUUID()}` });
  world = await startE2eWorld({
    transport,
    schemaPrefix: 'db_outage',
    databaseUrl: database.url,
    storageEnv: { ASYA_RESULTS_DIR: results },
    retry: { initialDelaySeconds: 0.3, multiplier: 3 },
  });
  const n = world.names;
  // The first actor holds the envelope until the database is down.
  await Promise.all([world.actor(n.one, 'gated', {}, gate.env), world.actor(n.two, 'echo'), world.actor(n.three, 'echo')]);
}, 120_000);

afterAll(async () => {
  gate.open();
  // The world drops its schema on the private cluster, so the cluster must be up for that.
  if (database && !(await database.accepts())) await database.start();
  await world?.stop();
  await transport?.close();
  await database?.dispose();
  gate.dispose();
  rmSync(results, { recursive: true, force: true });
}, 120_000);

test('actors keep routing while the gateway database is down; the final status lands once it is back', async () => {
  const text = 'through the outage';
  const id = await world.call('pipeline', { text });
  await expect.poll(() => gate.started(), { timeout: 30_000 }).toBe(1);

  await database.stop();
  expect(await database.accepts()).toBe(false);
  await expect.poll(async () => (await fetch(`${world.gw.url}/ready`)).status, { timeout: 30_000 }).toBe(503);
  expect((await world.get(`/envelopes/${id}`)).status).toBe(503);

  gate.open();
  // Two more actors and happy-end, which stores the whole envelope: all of it while the database is down.
  const storedKeys = async () => (await world.storage.list('happy-asya/')).filter((k) => !k.includes('/ids/') && k.endsWith(`/${id}.json`));
  await expect.poll(storedKeys, { timeout: 60_000 }).toHaveLength(1);
  expect(await database.accepts()).toBe(false);
  const [key] = await storedKeys();
  expect(JSON.parse((await world.storage.get(key!))!)).toMatchObject({ id, route: { actors: [world.names.one, world.names.two, world.names.three], current: 3 }, payload: { text } });
  expect((await world.get(`/envelopes/${id}`)).status).toBe(503);

  await database.start();
  const final = await world.finalOf(id, 90_000);
  expect(final).toMatchObject({ id, status: 'succeeded', result: { text }, progress_percent: 100 });
  const events = await world.events(id);
  expect(events.filter((e) => isFinalStatus(e.status))).toHaveLength(1);
}, 180_000);
