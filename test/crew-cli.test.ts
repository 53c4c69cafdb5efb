/** `asya crew happy-end` as one real process on RabbitMQ: configured by env only, drains on SIGTERM. */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startCrew } from '../cli/crew.ts';
import { FileStorage } from '../crew/storage.ts';
import { CREW_CONCURRENCY, queueName } from '../protocol/index.ts';
import { RabbitMqTransport } from '../transport/rabbitmq/rabbitmq.ts';
import { expectHappyEndRoundTrip } from './support/crew-process.ts';
import { commandLine, descendants, killAll, stillRunningAfter } from './support/process-tree.ts';
import { startFakeGateway, type FakeGateway } from './support/fake-gateway.ts';
import { envelopeBody, startTestCrew } from './support/pipeline.ts';
import { RABBITMQ_URL } from './support/rabbitmq.ts';
import { REPO_ROOT } from './support/runtime-process.ts';
import { deleteQueuesWithDeadLetters } from './support/queues.ts';

const ASYA = join(REPO_ROOT, 'bin/asya.js');
let gateway: FakeGateway;
let transport: RabbitMqTransport;
let results: string;

beforeAll(async () => {
  gateway = await startFakeGateway();
  transport = await RabbitMqTransport.connect({ url: RABBITMQ_URL, connectionName: `crew-cli-${randomUUID()}` });
  results = mkdtempSync(join(tmpdir(), 'asya-crew-cli-'));
});
afterAll(async () => {
  await transport?.close();
  await gateway?.close();
  rmSync(results, { recursive: true, force: true });
});

test('one command starts the runtime and the sidecar; an envelope is stored and reported; SIGTERM exits 0', async () => {
  await expectHappyEndRoundTrip({ command: [process.execPath, ASYA, 'crew', 'happy-end'], cwd: REPO_ROOT, transport, gateway, results });
});

test('a crew killed with SIGKILL (no cleanup runs) takes its runtime with it', async () => {
  const name = `happy-end-${randomUUID().slice(0, 8)}`;
  const child = spawn(process.execPath, [ASYA, 'crew', 'happy-end'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ASYA_TRANSPORT: 'rabbitmq', ASYA_RABBITMQ_URL: RABBITMQ_URL, ASYA_ACTOR_HAPPY_END: name, ASYA_GATEWAY_URL: gateway.url, ASYA_RESULTS_DIR: results, ASYA_METRICS_ENABLED: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  for (const stream of [child.stdout, child.stderr]) stream.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let runtimes: number[] = [];
  try {
    await expect.poll(() => output, { timeout: 30_000 }).toContain(`Consuming ${queueName(name)}`);
    runtimes = descendants(child.pid!);
    expect(runtimes.map(commandLine).filter((c) => c.includes('runtime')), output).toHaveLength(1);
    child.kill('SIGKILL');
    await exited;
    // A bound for a loaded machine, not a timing claim: the runtime notices at once.
    const left = await stillRunningAfter(runtimes, 20_000);
    expect(left.map((p) => `${p} ${commandLine(p)}`)).toEqual([]);
  } finally {
    child.kill('SIGKILL');
    killAll(runtimes);
    await deleteQueuesWithDeadLetters(transport, [queueName(name)]);
  }
});

test('a wrong role is a usage error (exit 2)', () => {
  const result = spawnSync(process.execPath, [ASYA, 'crew', 'middle-end'], { cwd: REPO_ROOT, encoding: 'utf8' });
  expect(result.status).toBe(2);
  expect(result.stderr).toContain('Usage: asya crew happy-end|error-end');
});

test(`happy-end handles ${CREW_CONCURRENCY} envelopes at once by default: finals wait on a slow gateway together`, async () => {
  const slow = await startFakeGateway();
  slow.delayMs = 3_000;
  const name = `happy-end-${randomUUID().slice(0, 8)}`;
  const env: Record<string, string | undefined> = { ...process.env, ASYA_ACTOR_HAPPY_END: name, ASYA_GATEWAY_URL: slow.url, ASYA_RESULTS_DIR: results, ASYA_METRICS_ENABLED: 'false', ASYA_LOG_LEVEL: 'ERROR' };
  delete env.ASYA_CONCURRENCY;
  const crew = await startTestCrew('happy-end', { env, transport });
  try {
    expect(crew.config.concurrency).toBe(CREW_CONCURRENCY);
    const ids = Array.from({ length: 4 }, () => randomUUID());
    for (const id of ids) await transport.publish(queueName(name), envelopeBody(id, ['prep'], {}, { route: { actors: ['prep'], current: 1 } }));
    // All four finals reached the gateway before it answered the first: they were handled side by side.
    await expect.poll(() => slow.requests.filter((r) => r.path.endsWith('/final')).length, { timeout: 20_000 }).toBe(4);
    expect(slow.answered).toBe(0);
    await expect.poll(() => slow.answered, { timeout: 20_000 }).toBe(4);
  } finally {
    await crew.stop();
    await deleteQueuesWithDeadLetters(transport, [queueName(name)]);
    await slow.close();
  }
});
