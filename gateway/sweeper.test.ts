import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestSchema } from '../test/support/postgres.ts';
import { GatewayMetrics } from './metrics.ts';
import { openPostgresStore, type EnvelopeStore } from './store/index.ts';
import { startSweeper } from './sweeper.ts';
import { quietLog, testSchema, waitUntil } from '../test/support/gateway-harness.ts';

let schema: TestSchema;
let store: EnvelopeStore;

beforeAll(async () => {
  schema = await testSchema('sweep');
  store = await openPostgresStore({ url: schema.url, schema: schema.name });
});

afterAll(async () => {
  await store?.close();
  await schema?.drop();
});

describe('sweeper', () => {
  it('fails overdue envelopes and deletes final ones past retention, leaving the rest', async () => {
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    await store.create({ id: 'overdue', actors: ['a'], payload: null, deadline: new Date(Date.now() - 1000) });
    await store.create({ id: 'done', actors: ['a'], payload: null });
    await store.setFinal('done', { status: 'succeeded' });
    await store.create({ id: 'working', actors: ['a'], payload: null, deadline: new Date(Date.now() + 60_000) });
    const sweeper = startSweeper({ store, log: quietLog, metrics, sweepIntervalMs: 20, retentionMs: 300, cleanupIntervalMs: 50 });
    try {
      await waitUntil(async () => (await store.get('overdue'))?.status === 'failed', 5000, 'overdue failed');
      await waitUntil(async () => (await store.get('done')) === undefined, 5000, 'retention');
      expect(await store.get('working')).toMatchObject({ status: 'pending' });
      // The timed-out envelope is final too, and goes once it is older than retention.
      await waitUntil(async () => (await store.get('overdue')) === undefined, 5000, 'retention of the timed-out one');
      const text = await metrics.registry.metrics();
      expect(text).toContain('asya_gateway_overdue_failed_total 1');
      expect(text).toContain('asya_gateway_retention_deleted_total 2');
    } finally {
      await sweeper.stop();
    }
  });

  it('keeps running through store errors and stops cleanly', async () => {
    const broken = { failOverdue: async () => Promise.reject(new Error('boom')) } as unknown as EnvelopeStore;
    let logged = 0;
    const log = { ...quietLog, error: () => void logged++ };
    const sweeper = startSweeper({ store: broken, log, metrics: new GatewayMetrics({ defaultMetrics: false }), sweepIntervalMs: 10 });
    await waitUntil(() => logged >= 3, 5000, 'repeated passes');
    await sweeper.stop();
    const after = logged;
    // A second sweeper on the same schedule shows time for several more passes went by: the stopped one made none.
    let control = 0;
    const running = startSweeper({ store: broken, log: { ...quietLog, error: () => void control++ }, metrics: new GatewayMetrics({ defaultMetrics: false }), sweepIntervalMs: 10 });
    await waitUntil(() => control >= 3, 5000, 'the control sweeper passing three times');
    await running.stop();
    expect(logged).toBe(after);
  });
});
