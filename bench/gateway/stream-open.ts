/**
 * What opening `GET /envelopes/{id}/stream` costs the gateway's store, the two ways it can be done: the
 * envelope read (`get`) and then a subscription that replays its events (two statements, the way the route
 * did it until 2026-12-06), against `follow`, which reads the envelope's status and owner with the replayed
 * events in one statement. Envelopes with a 1 KiB payload, two events each (created, received); 16 opens in
 * flight; rounds interleaved; this process's CPU per open (PostgreSQL's is not in it).
 *
 *   npx tsx bench/gateway/stream-open.ts [envelopes=3000] [rounds=3]
 */
import postgres from 'postgres';
import { openPostgresStore } from '../../gateway/store/postgres.ts';
import { createTestSchema } from '../../test/support/postgres.ts';
import { eachConcurrently, median, printTable } from '../support.ts';

const [envelopes = 3000, rounds = 3] = process.argv.slice(2).map(Number);
const CONCURRENCY = 16;

const schema = await createTestSchema('bench_stream_open');
const store = await openPostgresStore({ url: schema.url, schema: schema.name });
const ids = Array.from({ length: envelopes }, (_, i) => `stream-open-${i}`);

const ways: Record<string, (id: string) => Promise<void>> = {
  'get, then subscribe with replay': async (id) => {
    if (!(await store.get(id))) throw new Error(`${id} not found`);
    await (await store.subscribe(id, () => {}, { afterSeq: 0 })).close();
  },
  'follow (one statement)': async (id) => {
    const followed = await store.follow(id, () => {}, { afterSeq: 0 });
    if (!followed.head) throw new Error(`${id} not found`);
    await followed.subscription.close();
  },
};

try {
  await eachConcurrently(ids, CONCURRENCY, (id) => store.create({ id, actors: ['a', 'b'], payload: { pad: 'x'.repeat(1024) } }));
  await eachConcurrently(ids, CONCURRENCY, (id) => store.appendProgress(id, { actorState: 'received', currentActorIdx: 0 }));
  // Statistics, as autovacuum would have them by now (the test server runs without it).
  const admin = postgres(schema.url, { max: 1, onnotice: () => {}, connection: { search_path: schema.name } });
  await admin.unsafe('analyze');
  await admin.end();

  const results = new Map<string, Array<{ perSecond: number; cpuMs: number }>>();
  for (let round = 1; round <= rounds; round++) {
    for (const [name, open] of Object.entries(ways)) {
      const cpu = process.cpuUsage();
      const started = performance.now();
      await eachConcurrently(ids, CONCURRENCY, open);
      const elapsedMs = performance.now() - started;
      const used = process.cpuUsage(cpu);
      const result = { perSecond: (envelopes / elapsedMs) * 1000, cpuMs: (used.user + used.system) / 1000 / envelopes };
      results.set(name, [...(results.get(name) ?? []), result]);
      console.log(`round ${round}: ${name}: ${result.perSecond.toFixed(0)} opens/s, ${result.cpuMs.toFixed(3)} ms CPU each`);
    }
  }
  printTable(
    `${envelopes} stream opens per way and round, ${CONCURRENCY} in flight, ${rounds} rounds (medians)`,
    [...results].map(([name, rs]) => ({ way: name, 'opens/s': Math.round(median(rs.map((r) => r.perSecond))), 'CPU ms each (this process)': median(rs.map((r) => r.cpuMs)).toFixed(3) })),
  );
} finally {
  await store.close();
  await schema.drop();
}
