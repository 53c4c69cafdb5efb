/**
 * The Asya pipeline as a user deploys it, every part its own process with default settings: `asya gateway`
 * on PostgreSQL (tokens on), actors A and B (`asya sidecar` + `asya runtime` with a handler that returns
 * its payload), and `asya crew happy-end`, all on one broker (brokers.ts: RabbitMQ, or SQS on moto). The
 * client calls `POST /tools/call` and then follows `GET /envelopes/{id}/stream` (SSE), which closes after
 * the final update: the call's latency ends when the client has read that update.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { queueName } from '../../protocol/queues.ts';
import { createTestSchema } from '../../test/support/postgres.ts';
import { freePort } from '../../test/support/moto.ts';
import { fixtureHandler, startRuntime, type RuntimeProcess } from '../../test/support/runtime-process.ts';
import { BenchClient } from '../gateway/http-client.ts';
import { startAsya, startGatewayProcess, triedSettings, type BenchProcess } from '../processes.ts';
import type { BenchBroker } from './brokers.ts';
import { descendants } from '../../test/support/process-tree.ts';
import { analyzeSchema, rowWrites, scrape, sumByLabel, tableScans, type Counts } from './counters.ts';
import { countersSince, type Pipeline, type PipelineCounters } from './pipeline.ts';
import { withDeadLetterQueues } from '../../test/support/queues.ts';

const CLIENT_TOKEN = 'bench-e2e-client';
const INTERNAL_TOKEN = 'bench-e2e-internal';
const TOOL = 'e2e';

const STUCK_MS = 20_000;
/** How many late calls have their envelope's state printed. */
const STUCK_DESCRIBED = 5;

export async function startAsyaPipeline(broker: BenchBroker, payloadBytes: number): Promise<Pipeline> {
  const suffix = randomUUID().slice(0, 8);
  const names = { a: `bench-e2e-a-${suffix}`, b: `bench-e2e-b-${suffix}`, happy: `bench-e2e-happy-${suffix}`, error: `bench-e2e-error-${suffix}` };
  const schema = await createTestSchema('asya_bench_e2e');
  const dir = mkdtempSync(join(tmpdir(), 'asya-bench-e2e-'));
  const processes: BenchProcess[] = [];
  const runtimes: RuntimeProcess[] = [];
  const sql = postgres(schema.url, { max: 1, onnotice: () => {} });
  const metricsUrls: Record<string, string> = {};
  let client: BenchClient | undefined;

  const stop = async () => {
    client?.close();
    // Crew and actors first, so nothing reports to a gateway that is gone.
    for (const p of [...processes].reverse()) await p.stop();
    for (const r of runtimes) await r.stop();
    for (const q of withDeadLetterQueues(Object.values(names).map(queueName))) await broker.remove(q);
    await sql.end();
    await schema.drop();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    writeFileSync(join(dir, 'tools.yaml'), `tools:\n- name: ${TOOL}\n  parameters: {text: {type: string, required: true}}\n  route: [${names.a}, ${names.b}]\n  timeout: 600\n`);
    const gateway = await startGatewayProcess({
      ASYA_CONFIG_PATH: join(dir, 'tools.yaml'), ASYA_DATABASE_URL: schema.url, ASYA_DATABASE_SCHEMA: schema.name,
      ...broker.env, ASYA_GATEWAY_API_TOKEN: CLIENT_TOKEN, ASYA_GATEWAY_TOKEN: INTERNAL_TOKEN,
    });
    processes.push(gateway);
    metricsUrls.gateway = `${gateway.url}/metrics`;
    const common = {
      ...broker.env, ASYA_GATEWAY_URL: gateway.url, ASYA_GATEWAY_TOKEN: INTERNAL_TOKEN,
      ASYA_ACTOR_HAPPY_END: names.happy, ASYA_ACTOR_ERROR_END: names.error, ASYA_LOG_LEVEL: 'INFO',
    };
    const pids: Record<string, number> = { gateway: gateway.pid };
    for (const role of ['a', 'b'] as const) {
      const runtime = await startRuntime('node', { handler: fixtureHandler('node', 'echo') });
      runtimes.push(runtime);
      const port = await freePort();
      processes.push(await startAsya(['sidecar'], { ...common, ASYA_ACTOR_NAME: names[role], ASYA_SOCKET_DIR: runtime.dir, ASYA_METRICS_ADDR: `127.0.0.1:${port}` }, 'Consuming'));
      metricsUrls[`sidecar ${role}`] = `http://127.0.0.1:${port}/metrics`;
      pids[`sidecar ${role}`] = processes.at(-1)!.pid;
      pids[`runtime ${role}`] = runtime.child.pid!;
    }
    const crewPort = await freePort();
    // ASYA_BENCH_CREW_ENV="ASYA_CONCURRENCY=32" tries a crew setting other than its default.
    const crew = await startAsya(['crew', 'happy-end'], { ...common, ASYA_RESULTS_DIR: join(dir, 'results'), ASYA_METRICS_ADDR: `127.0.0.1:${crewPort}`, ...triedSettings('ASYA_BENCH_CREW_ENV') }, 'Consuming');
    processes.push(crew);
    metricsUrls['happy-end'] = `http://127.0.0.1:${crewPort}/metrics`;
    pids['happy-end'] = crew.pid;
    // Its runtime is a child of it: the crew's handler (storing, reporting the final) runs there.
    descendants(crew.pid).forEach((pid, i) => (pids[`happy-end runtime${i === 0 ? '' : ` ${i + 1}`}`] = pid));

    client = new BenchClient(gateway.url, 4096);
    const auth = { authorization: `Bearer ${CLIENT_TOKEN}` };
    const json = { ...auth, 'content-type': 'application/json' };
    const text = 'x'.repeat(payloadBytes);
    const http = client;
    const baseline = await readCounters();

    async function readCounters(): Promise<PipelineCounters> {
      const texts = Object.fromEntries(await Promise.all(Object.entries(metricsUrls).map(async ([k, url]) => [k, await scrape(url)] as const)));
      const brokerMessages: Counts = {
        'gateway (tool calls)': sumByLabel(texts.gateway!, 'asya_gateway_tool_calls_total', 'outcome').created ?? 0,
        'gateway (outbox)': sumByLabel(texts.gateway!, 'asya_gateway_outbox_published_total').total ?? 0,
      };
      for (const k of ['sidecar a', 'sidecar b', 'happy-end']) brokerMessages[k] = sumByLabel(texts[k]!, 'asya_actor_messages_sent_total').total ?? 0;
      // This bench's own scrapes are no part of the pipeline's cost.
      const { '/metrics': _scrapes, ...httpRequests } = sumByLabel(texts.gateway!, 'asya_gateway_http_requests_total', 'route');
      return {
        dbRowWrites: await rowWrites(sql, schema.name),
        dbScans: await tableScans(sql, schema.name),
        httpRequests,
        brokerMessages,
      };
    }

    // A backlog makes thousands of calls late at once: the run's first few say where their envelopes are, the
    // rest are counted, and the count is printed every hundred.
    let stuckCalls = 0;
    const describeStuck = async (id: string) => {
      stuckCalls++;
      if (stuckCalls > STUCK_DESCRIBED) {
        if (stuckCalls % 100 === 0) process.stderr.write(`  ${stuckCalls} calls not final ${STUCK_MS / 1000} s after they were made\n`);
        return;
      }
      const envelope = await http.request('GET', `/envelopes/${id}`, undefined, auth).catch((err: unknown) => ({ status: 0, text: String(err) }));
      process.stderr.write(`  envelope ${id} not final ${STUCK_MS / 1000} s after its call: GET /envelopes/${id} answered ${envelope.status} ${envelope.text.slice(0, 600)}\n`);
    };

    return {
      name: `asya (${broker.name})`,
      pids,
      async call(i) {
        const res = await http.request('POST', '/tools/call', JSON.stringify({ name: TOOL, arguments: { text: `${i} ${text}` } }), json);
        if (res.status !== 200 || res.text.includes('"isError":true')) throw new Error(`tools/call answered ${res.status}: ${res.text.slice(0, 300)}`);
        const id = (JSON.parse((JSON.parse(res.text) as { content: Array<{ text: string }> }).content[0]!.text) as { envelope_id: string }).envelope_id;
        // A call still open after STUCK_MS says where its envelope is, so a lost one can be told from a slow one.
        const stuck = setTimeout(() => void describeStuck(id), STUCK_MS);
        try {
          const stream = await http.request('GET', `/envelopes/${id}/stream`, undefined, auth);
          if (!stream.text.includes('"status":"succeeded"')) throw new Error(`envelope ${id} did not succeed: ${stream.status} ${stream.text.slice(-300)}`);
        } finally {
          clearTimeout(stuck);
        }
      },
      async counters() {
        return countersSince(baseline, await readCounters());
      },
      analyze: () => analyzeSchema(sql, schema.name),
      async backlog() {
        const stages = { a: names.a, b: names.b, 'happy-end': names.happy };
        return Object.fromEntries(await Promise.all(Object.entries(stages).map(async ([k, n]) => [k, await broker.ready(queueName(n))] as const)));
      },
      async purge() {
        for (const name of [names.a, names.b, names.happy]) await broker.purge(queueName(name));
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
