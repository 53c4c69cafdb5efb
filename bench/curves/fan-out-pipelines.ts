/**
 * The two pipelines of the fan-out curve, behind one shape: `call(width)` starts one envelope that fans out
 * into `width` children and resolves when its client sees the parent final.
 *
 * Asya: `asya gateway` on PostgreSQL, an actor whose Node handler returns `count` elements (the runtime's
 * `fanout` fixture), and `asya crew happy-end`, all on RabbitMQ, each its own process with defaults (auth off).
 * The client calls `POST /tools/call` and follows the parent's SSE stream until it closes; the gateway
 * finishes the parent when every child has ended.
 *
 * Raw: the client INSERTs the parent's row and publishes it; raw-fanner.mjs INSERTs the children's rows in
 * one statement and publishes each child; raw-fan-finisher.mjs marks each child done and counts it on the
 * parent in one statement, which NOTIFYs when the count is complete; the client LISTENs.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import postgres from 'postgres';
import { CREW_CONCURRENCY } from '../../protocol/crew.ts';
import { queueName } from '../../protocol/queues.ts';
import { createTestSchema } from '../../test/support/postgres.ts';
import { fixtureHandler, startRuntime, type RuntimeProcess } from '../../test/support/runtime-process.ts';
import { BenchClient } from '../gateway/http-client.ts';
import { startAsya, startGatewayProcess, startNodeScript, type BenchProcess } from '../processes.ts';
import { freshActorQueue } from '../support.ts';
import { prefetchFor } from '../../transport/rabbitmq/rabbitmq-consumer.ts';
import { withDeadLetterQueues } from '../../test/support/queues.ts';

export interface FanOutPipeline {
  readonly pids: Record<string, number>;
  call(width: number): Promise<void>;
  stop(): Promise<void>;
}

/** A parent not final by then is reported instead of hanging the curve. */
const FINAL_TIMEOUT_MS = 300_000;

function withTimeout<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} not final within ${FINAL_TIMEOUT_MS / 1000} s`)), FINAL_TIMEOUT_MS)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function startAsyaFanOut(rabbitmqUrl: string): Promise<FanOutPipeline> {
  const suffix = randomUUID().slice(0, 8);
  const names = { fan: `bench-fan-${suffix}`, happy: `bench-fan-happy-${suffix}`, error: `bench-fan-error-${suffix}` };
  const schema = await createTestSchema('asya_bench_fan');
  const dir = mkdtempSync(join(tmpdir(), 'asya-bench-fan-'));
  const processes: BenchProcess[] = [];
  let runtime: RuntimeProcess | undefined;
  let client: BenchClient | undefined;
  const connection = await amqp.connect(rabbitmqUrl, { noDelay: true });
  const channel = await connection.createChannel();
  const stop = async () => {
    client?.close();
    for (const p of [...processes].reverse()) await p.stop();
    await runtime?.stop();
    for (const queue of withDeadLetterQueues(Object.values(names).map(queueName))) await channel.deleteQueue(queue).catch(() => {});
    await connection.close().catch(() => {});
    await schema.drop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    writeFileSync(join(dir, 'tools.yaml'), `tools:\n- name: fan\n  parameters: {count: {type: integer, required: true}}\n  route: [${names.fan}]\n  timeout: 600\n`);
    const broker = { ASYA_TRANSPORT: 'rabbitmq', ASYA_RABBITMQ_URL: rabbitmqUrl };
    const gateway = await startGatewayProcess({
      ASYA_CONFIG_PATH: join(dir, 'tools.yaml'), ASYA_DATABASE_URL: schema.url, ASYA_DATABASE_SCHEMA: schema.name, ASYA_GATEWAY_AUTH: 'none', ...broker,
    });
    processes.push(gateway);
    const common = { ...broker, ASYA_GATEWAY_URL: gateway.url, ASYA_ACTOR_HAPPY_END: names.happy, ASYA_ACTOR_ERROR_END: names.error, ASYA_LOG_LEVEL: 'INFO', ASYA_METRICS_ENABLED: 'false' };
    runtime = await startRuntime('node', { handler: fixtureHandler('node', 'fanout') });
    processes.push(await startAsya(['sidecar'], { ...common, ASYA_ACTOR_NAME: names.fan, ASYA_SOCKET_DIR: runtime.dir }, 'Consuming'));
    processes.push(await startAsya(['crew', 'happy-end'], { ...common, ASYA_RESULTS_DIR: join(dir, 'results') }, 'Consuming'));
    const http = (client = new BenchClient(gateway.url, 64));
    const json = { 'content-type': 'application/json' };
    return {
      pids: { gateway: gateway.pid, sidecar: processes[1]!.pid, runtime: runtime.child.pid!, 'happy-end': processes[2]!.pid },
      async call(width) {
        const res = await http.request('POST', '/tools/call', JSON.stringify({ name: 'fan', arguments: { count: width } }), json);
        if (res.status !== 200 || res.text.includes('"isError":true')) throw new Error(`tools/call answered ${res.status}: ${res.text.slice(0, 300)}`);
        const id = (JSON.parse((JSON.parse(res.text) as { content: Array<{ text: string }> }).content[0]!.text) as { envelope_id: string }).envelope_id;
        const stream = await withTimeout(`envelope ${id}`, http.request('GET', `/envelopes/${id}/stream`));
        if (!stream.text.includes('"status":"succeeded"')) throw new Error(`envelope ${id} did not succeed: ${stream.status} ${stream.text.slice(-300)}`);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

export async function startRawFanOut(rabbitmqUrl: string): Promise<FanOutPipeline> {
  const suffix = randomUUID().slice(0, 8);
  const [fanner, finisher] = [`bench-rawfan-${suffix}`, `bench-rawfan-end-${suffix}`];
  const notifyChannel = `bench_rawfan_${suffix}`;
  const schema = await createTestSchema('asya_bench_rawfan');
  const sql = postgres(schema.url, { max: 10, onnotice: () => {}, connection: { search_path: schema.name } });
  const connection = await amqp.connect(rabbitmqUrl, { noDelay: true });
  const channel = await connection.createConfirmChannel();
  const processes: BenchProcess[] = [];
  const waiting = new Map<string, () => void>();
  const stop = async () => {
    for (const p of processes) await p.stop();
    for (const queue of withDeadLetterQueues([fanner, finisher].map(queueName))) await channel.deleteQueue(queue).catch(() => {});
    await connection.close().catch(() => {});
    await sql.end();
    await schema.drop();
  };
  try {
    await sql`create table raw_fan (id text primary key, total int not null, done int not null default 0, payload jsonb not null)`;
    await sql`create table raw_fan_children (id text primary key, parent_id text not null, status text not null, result jsonb)`;
    await channel.assertExchange('asya', 'topic', { durable: true });
    for (const actor of [fanner, finisher]) await freshActorQueue(channel, actor);
    await sql.listen(notifyChannel, (id) => waiting.get(id)?.());
    processes.push(await startNodeScript(join(import.meta.dirname, 'raw-fanner.mjs'), [rabbitmqUrl, queueName(fanner), finisher, schema.url, schema.name, String(prefetchFor(1))]));
    processes.push(await startNodeScript(join(import.meta.dirname, 'raw-fan-finisher.mjs'), [rabbitmqUrl, queueName(finisher), String(CREW_CONCURRENCY), schema.url, schema.name, notifyChannel, String(prefetchFor(CREW_CONCURRENCY))]));
    return {
      pids: { 'raw fanner': processes[0]!.pid, 'raw finisher': processes[1]!.pid },
      async call(width) {
        const id = randomUUID();
        const done = new Promise<void>((resolve) => waiting.set(id, resolve));
        try {
          await sql`insert into raw_fan (id, total, payload) values (${id}, ${width}, ${sql.json({ count: width })})`;
          const body = Buffer.from(JSON.stringify({ id, count: width }));
          await new Promise<void>((resolve, reject) =>
            channel.publish('asya', fanner, body, { persistent: true, contentType: 'application/json' }, (err) => (err ? reject(err) : resolve())),
          );
          await withTimeout(`raw parent ${id}`, done);
        } finally {
          waiting.delete(id);
        }
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
