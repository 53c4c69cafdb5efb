/**
 * 200 envelopes through an actor with two replicas on RabbitMQ, one of them an `asya sidecar` process killed
 * with SIGKILL mid-stream. Redeliveries then duplicate work downstream; the crew's markers must turn that
 * into exactly one final report per envelope. Some envelopes fail once (retried by error-end), some always
 * (dead-lettered), the rest succeed at once.
 *
 * The reports are counted at the recording stand-in gateway (test/support/fake-gateway.ts), which accepts
 * every report, so a duplicate the crew sends shows here even if a real gateway would ignore it. The same
 * crash against the real gateway on PostgreSQL, counted in its store and API, is the last case of
 * test/e2e.case.ts (run on RabbitMQ and SQS).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { queueName } from '../protocol/index.ts';
import { RabbitMqTransport } from '../transport/rabbitmq/rabbitmq.ts';
import { deadLetters, startCrewWorld, type CrewWorld } from './crew-e2e.case.ts';
import { envelopeBody, startActor, type Actor } from './support/pipeline.ts';
import { RABBITMQ_URL } from './support/rabbitmq.ts';
import { fixtureHandler, startRuntime, type RuntimeProcess } from './support/runtime-process.ts';
import { spawnSidecar, type SidecarProcess } from './support/sidecar-process.ts';
import { deleteQueuesWithDeadLetters } from './support/queues.ts';

const COUNT = 200;
let transport: RabbitMqTransport;
let world: CrewWorld;
let work: string;
let replicaA: Actor | undefined;
let runtimeB: RuntimeProcess | undefined;
let sidecarB: SidecarProcess | undefined;

beforeAll(async () => {
  transport = await RabbitMqTransport.connect({ url: RABBITMQ_URL, connectionName: `crew-crash-${randomUUID()}` });
  work = mkdtempSync(join(tmpdir(), 'asya-crew-crash-'));
  world = await startCrewWorld(transport, { ASYA_RESULTS_DIR: join(work, 'results') });
});
afterAll(async () => {
  sidecarB?.child.kill('SIGKILL');
  await runtimeB?.stop();
  await replicaA?.stop();
  if (replicaA) await deleteQueuesWithDeadLetters(transport, [queueName(replicaA.name)]);
  await world?.stop();
  await transport?.close();
  rmSync(work, { recursive: true, force: true });
});

test(`${COUNT} envelopes, one of two sidecars killed with SIGKILL: the crew sends exactly one final report each (counted at a recording stand-in gateway)`, async () => {
  const actor = `work-${randomUUID().slice(0, 8)}`;
  const env = {
    ...world.endEnv,
    ASYA_GATEWAY_URL: world.gateway.url,
    ASYA_RETRY_POLICY: JSON.stringify({ initialDelaySeconds: 0.1, multiplier: 2 }),
    ASYA_CONCURRENCY: '4',
  };
  replicaA = await startActor(transport, actor, { kind: 'node', fixture: 'flaky', sidecarEnv: env });
  // Replica B is slow, so when it is killed its four slots are certainly busy with started work.
  runtimeB = await startRuntime('node', { handler: fixtureHandler('node', 'flaky'), env: { FLAKY_EXTRA_SECONDS: '0.5' } });
  sidecarB = spawnSidecar({ ...env, ASYA_TRANSPORT: 'rabbitmq', ASYA_RABBITMQ_URL: RABBITMQ_URL, ASYA_ACTOR_NAME: actor, ASYA_SOCKET_DIR: runtimeB.dir });
  await sidecarB.consuming;

  const expected = new Map<string, 'succeeded' | 'failed'>();
  const bodies = Array.from({ length: COUNT }, (_, i) => {
    const id = randomUUID();
    // Every tenth always fails, every tenth (offset 1) fails once, the rest succeed at once.
    const failures = i % 10 === 0 ? 99 : i % 10 === 1 ? 1 : 0;
    expected.set(id, failures === 99 ? 'failed' : 'succeeded');
    return envelopeBody(id, [actor], { counter: join(work, `${id}.log`), failures, seconds: 0.03 });
  });
  await Promise.all(bodies.map((body) => transport.publish(queueName(actor), body)));

  const withFinal = () => [...expected.keys()].filter((id) => world.finals(id).length > 0).length;
  await expect.poll(withFinal, { timeout: 60_000 }).toBeGreaterThanOrEqual(COUNT / 4);
  expect(withFinal()).toBeLessThan(COUNT);
  sidecarB.child.kill('SIGKILL');
  expect(await sidecarB.exited).toBeNull();

  await expect.poll(withFinal, { timeout: 120_000, interval: 200 }).toBe(COUNT);
  // Let duplicates from the redeliveries finish too, then count.
  await expect
    .poll(async () => {
      let total = 0;
      for (const q of [queueName(actor), queueName(world.happy.name), queueName(world.error.name)]) {
        const d = await transport.queueDepth(q);
        total += d.ready + d.inFlight + d.delayed;
      }
      return total;
    }, { timeout: 60_000, interval: 200 })
    .toBe(0);

  // The kill made work happen twice: more attempts were made than the fewest possible (1, 2 or 3 each).
  const attempts = [...expected.keys()].map((id) => readFileSync(join(work, `${id}.log`), 'utf8').trim().split('\n').length);
  const fewest = COUNT * 0.8 * 1 + COUNT * 0.1 * 2 + COUNT * 0.1 * 3;
  expect(attempts.reduce((a, b) => a + b, 0)).toBeGreaterThan(fewest);
  const reportedTwice = [...expected.keys()].filter((id) => world.finals(id).length !== 1);
  expect(reportedTwice).toEqual([]);
  const wrong = [...expected].filter(([id, status]) => world.finals(id)[0]!.status !== status);
  expect(wrong).toEqual([]);
  const statuses = [...expected.keys()].map((id) => world.finals(id)[0]!.status);
  expect(statuses.filter((s) => s === 'succeeded')).toHaveLength(COUNT * 0.9);
  expect(statuses.filter((s) => s === 'failed')).toHaveLength(COUNT / 10);
  // Every dead-lettered envelope has its record (a redelivered chain may add a second one, never none).
  const records = await deadLetters(world);
  const failedIds = [...expected].filter(([, s]) => s === 'failed').map(([id]) => id);
  expect(failedIds.filter((id) => !records.some((r) => r.id === id))).toEqual([]);
  expect(records.every((r) => expected.get(r.id) === 'failed' && r.attempts === 3)).toBe(true);
}, 240_000);
