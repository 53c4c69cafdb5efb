/**
 * Fuzz: a few hundred seeded mutations of valid envelopes (types, routes, sizes, encodings, nesting, invalid
 * UTF-8, non-JSON, missing fields, huge strings) published straight to an actor's queue on the shared
 * RabbitMQ, in front of real sidecars (Node and Python runtimes) and the real crew. Every message must end
 * with a record, never stuck and never looping: a final report to the gateway under its id, or a
 * dead-letter record that holds it, with every queue drained. Set ASYA_FUZZ_SEED to replay a run.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { queueName, RETRY_POLICY_HEADER } from '../protocol/index.ts';
import { waitFor } from '../transport/conformance-helpers.ts';
import { RabbitMqTransport } from '../transport/rabbitmq/rabbitmq.ts';
import type { Consumer } from '../transport/transport.ts';
import { startCrewWorld, type CrewWorld } from './crew-e2e.case.ts';
import { hostileMessages } from './support/hostile-envelopes.ts';
import { startActor, type Actor } from './support/pipeline.ts';
import { deleteQueuesWithDeadLetters, waitDrained } from './support/queues.ts';
import { RABBITMQ_URL } from './support/rabbitmq.ts';

const COUNT = 300;
const SEED = Number(process.env.ASYA_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

let transport: RabbitMqTransport;
let world: CrewWorld;
let results: string;
const actors: Actor[] = [];
const collectors: Consumer[] = [];
const deadLetters: Array<{ queue: string; text: string }> = [];

/** A record's text with every `body_base64` it carries decoded in place, however deeply they are wrapped. */
function readable(text: string): string {
  const decoded = [...text.matchAll(/"body_base64":"([A-Za-z0-9+/=]*)"/g)].map((m) => readable(Buffer.from(m[1]!, 'base64').toString('latin1')));
  return [text, ...decoded].join('\n');
}

beforeAll(async () => {
  console.log(`hostile envelopes: seed ${SEED} (replay with ASYA_FUZZ_SEED=${SEED})`);
  transport = await RabbitMqTransport.connect({ url: RABBITMQ_URL, connectionName: 'hostile-envelopes' });
  results = mkdtempSync(join(tmpdir(), 'asya-hostile-'));
  world = await startCrewWorld(transport, { ASYA_RESULTS_DIR: results });
  const env = { ...world.endEnv, ASYA_CONCURRENCY: '4', ASYA_RETRY_POLICY: JSON.stringify({ maxAttempts: 2, initialDelaySeconds: 0.1, jitter: false }) };
  const suffix = randomUUID().slice(0, 8);
  actors.push(await startActor(transport, `fuzz-a-${suffix}`, { kind: 'node', fixture: 'echo', sidecarEnv: env }));
  actors.push(await startActor(transport, `fuzz-b-${suffix}`, { kind: 'python', fixture: 'echo', sidecarEnv: env }));
  const dlqs = [world.dlqQueue, ...[world.error.name, world.happy.name, ...actors.map((a) => a.name)].map((n) => `${queueName(n)}-dlq`)];
  for (const queue of dlqs) {
    await transport.ensureQueue(queue);
    collectors.push(
      await transport.consume(queue, async (d) => {
        deadLetters.push({ queue, text: readable(d.body.toString('latin1')) });
        await transport.ack(d);
      }),
    );
  }
}, 120_000);

afterAll(async () => {
  for (const c of collectors) await c.stop().catch(() => {});
  for (const a of actors) {
    await a.stop().catch(() => {});
    await deleteQueuesWithDeadLetters(transport, [queueName(a.name)]);
  }
  await world?.stop();
  await transport?.close();
  if (results) rmSync(results, { recursive: true, force: true });
});

test(`${COUNT} hostile envelopes: each ends with a record, none is stuck, every queue drains`, async () => {
  const names = actors.map((a) => a.name);
  const messages = hostileMessages(SEED, COUNT, names, `fz${SEED.toString(36)}${randomUUID().slice(0, 4)}`);
  for (const m of messages) await transport.publish(queueName(names[0]!), m.body);

  const finalFor = (token: string) => world.gateway.requests.some((r) => r.path.startsWith(`/envelopes/${token}`) && r.path.endsWith('/final'));
  // A token followed by a digit is another message's (fz..-1 is a prefix of fz..-12).
  const recordFor = (token: string) => deadLetters.some((d) => new RegExp(`${token}(?![0-9])`).test(d.text));
  const unaccounted = () => messages.filter((m) => !finalFor(m.token) && !recordFor(m.token));
  await waitFor(() => unaccounted().length === 0, 'every message to end', 90_000).catch(() => {
    throw new Error(`seed ${SEED}: no record of ${unaccounted().map((m) => `${m.token} (${m.kind}) ${m.body.subarray(0, 120).toString('latin1')}`).join('\n')}`);
  });
  await waitDrained(transport, [...names, world.happy.name, world.error.name].map(queueName), 60_000);

  // Nothing was given up raw by an actor or an end actor: every failure went through error-end.
  const raw = deadLetters.filter((d) => d.queue !== world.dlqQueue && d.queue !== `${queueName(world.error.name)}-dlq`);
  expect(raw.map((d) => `${d.queue}: ${d.text.slice(0, 200)}`)).toEqual([]);
  const succeeded = messages.filter((m) => world.finals(m.token).some((f) => f.status === 'succeeded')).length;
  const failed = messages.filter((m) => world.finals(m.token).some((f) => f.status === 'failed')).length;
  console.log(`hostile envelopes (seed ${SEED}): ${succeeded} succeeded, ${failed} failed, ${deadLetters.length} dead-letter records`);
  expect(succeeded).toBeGreaterThan(0);
  expect(failed).toBeGreaterThan(0);
}, 240_000);

test("error-end's retry to an actor whose queue is gone: reported failed, dead-lettered once, no loop", async () => {
  const id = randomUUID();
  const ghost = `ghost-${randomUUID().slice(0, 8)}`;
  const errorEnvelope = {
    id,
    route: { actors: [ghost], current: 0 },
    headers: { [RETRY_POLICY_HEADER]: { maxAttempts: 3, initialDelaySeconds: 0.1, jitter: false } },
    payload: { error: 'processing_error', code: 'processing_error', failed_actor: ghost, original_payload: { token: id } },
  };
  await transport.publish(queueName(world.error.name), Buffer.from(JSON.stringify(errorEnvelope)));
  await waitFor(() => world.finals(id).length > 0, 'the final status');
  expect(world.finals(id)).toEqual([expect.objectContaining({ status: 'failed', metadata: expect.objectContaining({ publish_refused: expect.stringContaining(queueName(ghost)) }) })]);
  const errorEndDlq = `${queueName(world.error.name)}-dlq`;
  await waitFor(() => deadLetters.some((d) => d.queue === errorEndDlq && d.text.includes(id)), 'the dead letter');
  await waitDrained(transport, [queueName(world.error.name)]);
  expect(deadLetters.filter((d) => d.text.includes(id))).toHaveLength(1);
  expect(world.finals(id)).toHaveLength(1);
}, 60_000);
