/**
 * Finals per second through the gateway's store on PostgreSQL, as happy-end sends them: N envelopes created,
 * then each finished once, `concurrency` finals in flight at a time (the crew's default is 16). Beside it, the
 * raw baseline the e2e bench uses for its finisher: one UPDATE + NOTIFY per envelope, autocommitted, at the same
 * concurrency. Each build named runs in its own schema, rounds interleaved so the machine's load falls on all
 * alike; the process's CPU is counted per final (the store's client side; PostgreSQL's is not in it).
 *
 *   npx tsx bench/gateway/finals.ts [--progress] [envelopes=3000] [concurrency=16] [rounds=3] [other-checkout ...]
 *
 * `--progress` sends each envelope one progress report (a hop's `completed`, as a sidecar does) instead of its
 * final, against the same raw baseline.
 *
 * Each other checkout runs its own gateway/store (its sources, under tsx), e.g. `git worktree add /tmp/before
 * <commit>` with a node_modules link, to compare a change with its base.
 */
import postgres from 'postgres';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../../test/support/runtime-process.ts';
import { createTestSchema } from '../../test/support/postgres.ts';
import type { EnvelopeStore } from '../../gateway/store/store.ts';
import { eachConcurrently, median, printTable } from '../support.ts';

const progressMode = process.argv.includes('--progress');
const args = process.argv.slice(2).filter((a) => a !== '--progress');
const [envelopes = 3000, concurrency = 16, rounds = 3] = args.slice(0, 3).map(Number);
const builds = [REPO_ROOT, ...args.slice(3).map((p) => resolve(p))];
const what = progressMode ? 'progress reports' : 'finals';

interface Case {
  name: string;
  run(ids: string[]): Promise<void>;
  prepare(ids: string[]): Promise<void>;
  close(): Promise<void>;
}

async function storeCase(root: string): Promise<Case> {
  const schema = await createTestSchema('bench_finals');
  const module = (await import(pathToFileURL(join(root, 'gateway/store/postgres.ts')).href)) as {
    openPostgresStore(options: { url: string; schema: string }): Promise<EnvelopeStore>;
  };
  const store = await module.openPostgresStore({ url: schema.url, schema: schema.name });
  return {
    name: root === REPO_ROOT ? 'store: this checkout' : `store: ${root}`,
    prepare: (ids) => eachConcurrently(ids, concurrency, (id) => store.create({ id, actors: ['a', 'b'], payload: { n: 1 } })),
    run: (ids) =>
      eachConcurrently(ids, concurrency, async (id) => {
        const answer = progressMode
          ? await store.appendProgress(id, { actorState: 'completed', currentActorIdx: 1, actors: ['a', 'b'] })
          : await store.setFinal(id, { status: 'succeeded', result: { id, ok: true } });
        if (answer.outcome !== 'applied') throw new Error(`${what} for ${id} was ${answer.outcome}`);
      }),
    close: async () => {
      await store.close();
      await schema.drop();
    },
  };
}

async function rawCase(): Promise<Case> {
  const schema = await createTestSchema('bench_finals_raw');
  const sql = postgres(schema.url, { max: 10, onnotice: () => {}, connection: { search_path: schema.name } });
  await sql`create table raw_envelopes (id text primary key, status text not null, result jsonb, payload jsonb)`;
  return {
    name: `raw: UPDATE + NOTIFY per ${progressMode ? 'report' : 'final'}`,
    prepare: (ids) => eachConcurrently(ids, concurrency, (id) => sql`insert into raw_envelopes (id, status, payload) values (${id}, 'pending', ${sql.json({ n: 1 })})`),
    run: (ids) =>
      eachConcurrently(ids, concurrency, (id) =>
        sql`with u as (update raw_envelopes set status = 'succeeded', result = ${sql.json({ id, ok: true })} where id = ${id} returning id)
            select pg_notify('bench_finals_raw', id) from u`),
    close: async () => {
      await sql.end();
      await schema.drop();
    },
  };
}

const cases = [await rawCase(), ...(await Promise.all(builds.map(storeCase)))];
const results = new Map<string, Array<{ perSecond: number; cpuMsPerFinal: number }>>();
for (let round = 1; round <= rounds; round++) {
  for (const c of cases) {
    const ids = Array.from({ length: envelopes }, (_, i) => `fin-${round}-${i}-${Math.random().toString(36).slice(2, 8)}`);
    await c.prepare(ids);
    const cpu = process.cpuUsage();
    const started = performance.now();
    await c.run(ids);
    const ms = performance.now() - started;
    const used = process.cpuUsage(cpu);
    const entry = { perSecond: (envelopes * 1000) / ms, cpuMsPerFinal: (used.user + used.system) / 1000 / envelopes };
    (results.get(c.name) ?? results.set(c.name, []).get(c.name)!).push(entry);
    process.stderr.write(`round ${round}: ${c.name}: ${entry.perSecond.toFixed(0)} ${what}/s, ${entry.cpuMsPerFinal.toFixed(3)} ms CPU each\n`);
  }
}
for (const c of cases) await c.close();

const rawRate = median(results.get(cases[0]!.name)!.map((r) => r.perSecond));
printTable(
  `${envelopes} ${what} per case and round, ${concurrency} in flight, ${rounds} rounds (medians)`,
  cases.map((c) => {
    const rs = results.get(c.name)!;
    const rate = median(rs.map((r) => r.perSecond));
    return { case: c.name, [`${what}/s`]: Math.round(rate), 'vs raw': `${Math.round((100 * rate) / rawRate)}%`, 'CPU ms each (this process)': median(rs.map((r) => r.cpuMsPerFinal)).toFixed(3) };
  }),
);
process.exit(0);
