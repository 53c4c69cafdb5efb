/**
 * `asya crew happy-end` as a real process on RabbitMQ, from whichever entry point runs it (bin/asya.js from the
 * source tree, or the sidecar image's bundle): it consumes, the crew handler stores the result, the final
 * report reaches the gateway, and SIGTERM drains it to exit 0.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { FileStorage } from '../../crew/storage.ts';
import { queueName } from '../../protocol/index.ts';
import type { RabbitMqTransport } from '../../transport/rabbitmq/rabbitmq.ts';
import type { FakeGateway } from './fake-gateway.ts';
import { envelopeBody } from './pipeline.ts';
import { RABBITMQ_URL } from './rabbitmq.ts';
import { deleteQueuesWithDeadLetters } from './queues.ts';

export interface HappyEndRun {
  /** The process to start: [executable, ...args] ending in `crew happy-end`. */
  command: string[];
  cwd: string;
  transport: RabbitMqTransport;
  gateway: FakeGateway;
  results: string;
  env?: NodeJS.ProcessEnv;
}

export async function expectHappyEndRoundTrip(run: HappyEndRun): Promise<void> {
  const name = `happy-end-${randomUUID().slice(0, 8)}`;
  const [executable = '', ...args] = run.command;
  const child = spawn(executable, args, {
    cwd: run.cwd,
    env: {
      ...(run.env ?? process.env),
      ASYA_TRANSPORT: 'rabbitmq',
      ASYA_RABBITMQ_URL: RABBITMQ_URL,
      ASYA_ACTOR_HAPPY_END: name,
      ASYA_GATEWAY_URL: run.gateway.url,
      ASYA_RESULTS_DIR: run.results,
      ASYA_METRICS_ENABLED: 'false',
      ASYA_LOG_LEVEL: 'INFO',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    await expect.poll(() => output, { timeout: 30_000 }).toContain(`Consuming ${queueName(name)}`);
    const id = randomUUID();
    await run.transport.publish(queueName(name), envelopeBody(id, ['prep'], { done: true }, { route: { actors: ['prep'], current: 1 } }));
    await expect.poll(() => run.gateway.requests.filter((r) => r.path === `/envelopes/${id}/final`).length, { timeout: 30_000 }).toBe(1);
    // The reported flag is created once the gateway has answered the final, a moment after it was recorded.
    await expect.poll(() => new FileStorage(run.results).list('happy-asya/'), { timeout: 10_000 }).toEqual([expect.stringMatching(new RegExp(`^happy-asya/\\d{4}-.*/prep/${id}\\.json$`)), `happy-asya/ids/${id}.json`, `happy-asya/ids/${id}.reported`]);
    child.kill('SIGTERM');
    expect(await exited, output).toBe(0);
  } finally {
    child.kill('SIGKILL');
    await deleteQueuesWithDeadLetters(run.transport, [queueName(name)]);
  }
}
