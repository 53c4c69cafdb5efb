/**
 * The raw pipeline: the least the same work can cost on the same broker and database. The client INSERTs
 * the envelope's row and publishes it (persistent, confirmed); two raw amqplib hops consume → publish
 * (confirmed) → ack (bench/hop/raw-forwarder.mjs), as actors A and B; a third consumer UPDATEs the row to
 * succeeded with a NOTIFY in the same statement, then acks (raw-finisher.mjs), as happy-end. So both
 * pipelines publish three messages and consume three. Handlers and prefetch per stage are what Asya's defaults
 * give each stage (ASYA_CONCURRENCY 1 for actors, CREW_CONCURRENCY for the crew; the prefetch one more, as the sidecars'
 * since 2026-12-05). The client LISTENs on the channel: the call's
 * latency ends when the NOTIFY arrives, the push counterpart of the Asya client's SSE stream (which the
 * gateway also feeds from a NOTIFY).
 *
 * Its queues are quorum queues, as Asya's sidecars declare them (transport/rabbitmq/rabbitmq-topology.ts):
 * a confirm from a quorum queue waits for the Raft log's fsync, which a classic queue's does not, and at
 * one handler that wait is most of a hop. `classic` measures the baseline the bench had before 2026-12-04.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import amqp from 'amqplib';
import postgres from 'postgres';
import { CREW_CONCURRENCY } from '../../protocol/crew.ts';
import { createTestSchema } from '../../test/support/postgres.ts';
import { startNodeScript, type BenchProcess } from '../processes.ts';
import { analyzeSchema, delta, rowWrites, tableScans, type Counts } from './counters.ts';
import type { Pipeline } from './pipeline.ts';
import { queueArguments } from '../../transport/rabbitmq/rabbitmq-topology.ts';
import { prefetchFor } from '../../transport/rabbitmq/rabbitmq-consumer.ts';

export const RAW_QUEUE_TYPES = ['quorum', 'classic'] as const;
export type RawQueueType = (typeof RAW_QUEUE_TYPES)[number];

const EXCHANGE = 'asya';
const ACTOR_CONCURRENCY = 1;

export async function startRawPipeline(rabbitmqUrl: string, payloadBytes: number, queueType: RawQueueType = 'quorum'): Promise<Pipeline> {
  const suffix = randomUUID().slice(0, 8);
  const queues = [`bench-e2e-raw-a-${suffix}`, `bench-e2e-raw-b-${suffix}`, `bench-e2e-raw-end-${suffix}`];
  const notifyChannel = `bench_e2e_raw_${suffix}`;
  const schema = await createTestSchema('asya_bench_e2e_raw');
  // The same pool size as the gateway's default (ASYA_DB_MAX_CONNS 10).
  const sql = postgres(schema.url, { max: 10, onnotice: () => {}, connection: { search_path: schema.name } });
  const connection = await amqp.connect(rabbitmqUrl, { noDelay: true });
  const channel = await connection.createConfirmChannel();
  const processes: BenchProcess[] = [];
  const waiting = new Map<string, () => void>();
  let published = 0;

  const stop = async () => {
    for (const p of processes) await p.stop();
    for (const q of queues) await channel.deleteQueue(q);
    await connection.close();
    await sql.end();
    await schema.drop();
  };

  try {
    await sql`create table raw_envelopes (id text primary key, status text not null, payload jsonb not null, result jsonb,
              created_at timestamptz not null default now(), updated_at timestamptz)`;
    await channel.assertExchange(EXCHANGE, 'topic', { durable: true });
    for (const q of queues) {
      await channel.assertQueue(q, { durable: true, ...(queueType === 'quorum' ? { arguments: queueArguments(q) } : {}) });
      await channel.bindQueue(q, EXCHANGE, q);
    }
    await sql.listen(notifyChannel, (id) => waiting.get(id)?.());
    const forwarder = join(import.meta.dirname, '../hop/raw-forwarder.mjs');
    // The sidecars' window: as many handlers, and as many messages held ahead (prefetchFor).
    const window = (concurrency: number) => [String(concurrency), String(prefetchFor(concurrency))];
    processes.push(await startNodeScript(forwarder, [rabbitmqUrl, queues[0]!, queues[1]!, ...window(ACTOR_CONCURRENCY)]));
    processes.push(await startNodeScript(forwarder, [rabbitmqUrl, queues[1]!, queues[2]!, ...window(ACTOR_CONCURRENCY)]));
    const [crewConcurrency, crewPrefetch] = window(CREW_CONCURRENCY);
    processes.push(await startNodeScript(join(import.meta.dirname, 'raw-finisher.mjs'), [rabbitmqUrl, queues[2]!, crewConcurrency!, schema.url, schema.name, notifyChannel, crewPrefetch!]));
    const baseline = await rowWrites(sql, schema.name);
    const scansBefore = await tableScans(sql, schema.name);
    const text = 'x'.repeat(payloadBytes);

    return {
      name: 'raw',
      pids: { 'raw hop a': processes[0]!.pid, 'raw hop b': processes[1]!.pid, 'raw finisher': processes[2]!.pid },
      async call(i) {
        const id = randomUUID();
        const payload = { text: `${i} ${text}` };
        const done = new Promise<void>((resolve) => waiting.set(id, resolve));
        try {
          await sql`insert into raw_envelopes (id, status, payload) values (${id}, 'pending', ${sql.json(payload)})`;
          const body = Buffer.from(JSON.stringify({ id, route: { actors: queues, current: 0 }, payload }));
          await new Promise<void>((resolve, reject) =>
            channel.publish(EXCHANGE, queues[0]!, body, { persistent: true, contentType: 'application/json' }, (err) => (err ? reject(err) : resolve())),
          );
          published++;
          await done;
        } finally {
          waiting.delete(id);
        }
      },
      async counters() {
        // The client counts its publishes; the hops do not count theirs, so their share is by construction
        // (one publish each per envelope that reached the finisher, i.e. per UPDATE) and labelled so.
        const dbRowWrites = delta(baseline, await rowWrites(sql, schema.name));
        const dbScans = delta(scansBefore, await tableScans(sql, schema.name));
        const finished = dbRowWrites['raw_envelopes update'] ?? 0;
        const brokerMessages: Counts = { client: published, 'hops a + b (by construction)': 2 * finished };
        return { dbRowWrites, dbScans, httpRequests: {}, brokerMessages };
      },
      analyze: () => analyzeSchema(sql, schema.name),
      async backlog() {
        const stages = ['hop a', 'hop b', 'finisher'];
        return Object.fromEntries(await Promise.all(queues.map(async (q, i) => [stages[i]!, (await channel.checkQueue(q)).messageCount] as const)));
      },
      async purge() {
        for (const q of queues) await channel.purgeQueue(q);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
