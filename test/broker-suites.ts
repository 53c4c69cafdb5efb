/**
 * The shared suites, bound to one broker of the registry. The per-broker test files call these and nothing
 * else (test/broker-runners.test.ts writes and checks them), so each broker's suites run as files of their own,
 * in parallel with the others'.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, expect, test } from 'vitest';
import { findActors } from '../cli/dev/actors.ts';
import { CREW_ROLES, DLQ_QUEUE } from '../protocol/crew.ts';
import { queueName } from '../protocol/queues.ts';
import { withQueuePrefix } from '../transport/prefixed.ts';
import type { TransportName } from '../transport/registry.ts';
import { crewSuite } from './crew-e2e.case.ts';
import { e2eSuite } from './e2e.case.ts';
import { sidecarSuite } from './sidecar.case.ts';
import { brokerSession, TEST_BROKERS } from './support/brokers.ts';
import { ASYA_BIN, copyExample } from './support/dev-process.ts';
import { deleteQueuesWithDeadLetters } from './support/queues.ts';

export function e2eOn(name: TransportName): void {
  const broker = TEST_BROKERS[name];
  const session = brokerSession(name);
  e2eSuite(broker.label, {
    makeTransport: session.makeTransport,
    storageEnv: () => session.storageEnv('e2e'),
    brokerEnv: session.env,
    retry: broker.retry,
    schemaPrefix: `e2e_${name}`,
    crashCalls: 200,
  });
}

export function sidecarOn(name: TransportName): void {
  const broker = TEST_BROKERS[name];
  const session = brokerSession(name);
  sidecarSuite(broker.label, {
    makeTransport: session.makeTransport,
    runtimes: ['node', 'python'],
    ...(broker.maxBody !== undefined ? { maxBody: broker.maxBody } : {}),
    shared: broker.shared,
  });
}

export function crewOn(name: TransportName): void {
  const broker = TEST_BROKERS[name];
  const session = brokerSession(name);
  crewSuite(broker.label, { makeTransport: session.makeTransport, storageEnv: () => session.storageEnv('crew'), retry: broker.retry });
}

/** `asya dev --transport <name> --demo` on the hello example; a queue prefix of its own keeps a shared broker's other users apart. */
export function devDemoOn(name: TransportName): void {
  const session = brokerSession(name);
  const example = copyExample('hello');
  const prefix = `dv${randomUUID().slice(0, 8)}-`;
  afterAll(async () => {
    // The queues asya dev made on the broker (the example's actors, the crew's and the DLQ) outlive it.
    if (TEST_BROKERS[name].shared) {
      const transport = withQueuePrefix(await session.makeTransport(), prefix);
      const actors = [...findActors(example.dir).map((a) => a.metadata.name), ...CREW_ROLES];
      await deleteQueuesWithDeadLetters(transport, [...actors.map(queueName), DLQ_QUEUE]).finally(() => transport.close());
    }
    example.cleanup();
  }, 60_000);

  test(`--transport ${name} --demo ends as demo.yaml expects`, () => {
    const run = spawnSync(process.execPath, [ASYA_BIN, 'dev', example.dir, '--transport', name, '--demo'], {
      cwd: example.dir,
      env: { ...process.env, ...session.env(), ASYA_QUEUE_PREFIX: prefix },
      encoding: 'utf8',
      timeout: 180_000,
    });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stderr).toContain(`on the ${name} transport`);
    expect(run.stdout).toContain('3 of 3 demo calls ended as expected');
    expect(run.stdout).toContain('"verdict": "negative (score -2 over 6 words)"');
  }, 240_000);
}
