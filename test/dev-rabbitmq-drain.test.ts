/**
 * asya dev --transport rabbitmq: the same stack against the real broker on 127.0.0.1:5672. Actor, end-actor
 * and DLQ names carry a suffix of this run, so nothing here touches another suite's queues. Ctrl-C there
 * only finishes the messages in flight: queued ones stay on the broker, and the next run finishes them.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { deadLetterQueueOf } from '../transport/transport.ts';
import { RabbitMqTransport } from '../transport/rabbitmq/rabbitmq.ts';
import { asya, copyExample, editFile, startDev, ASYA_BIN } from './support/dev-process.ts';
import { gateHandler } from './support/gated-handler.ts';
import { RABBITMQ_URL } from './support/rabbitmq.ts';

const suffix = randomUUID().slice(0, 8);
const ACTORS = ['normalize', 'sentiment', 'report'];
const renamed = (actor: string) => `dv${suffix}-${actor}`;
const env = {
  ASYA_RABBITMQ_URL: RABBITMQ_URL,
  ASYA_ACTOR_HAPPY_END: `dv${suffix}-happy`,
  ASYA_ACTOR_ERROR_END: `dv${suffix}-error`,
  ASYA_DLQ_QUEUE: `asya-dv${suffix}-dlq`,
};
const queues = [...ACTORS.map(renamed), env.ASYA_ACTOR_HAPPY_END, env.ASYA_ACTOR_ERROR_END].map((a) => `asya-${a}`);
const BROKEN = `asya-${renamed('broken')}`;
const examples: Array<{ dir: string; cleanup: () => void }> = [];

/** The hello example with this run's actor names. */
function example(): string {
  const copy = copyExample('hello');
  examples.push(copy);
  for (const file of readdirSync(join(copy.dir, 'actors'))) {
    editFile(join(copy.dir, 'actors', file), (text) => text.replace(/^( {2}name: )(\S+)$/m, (_, key: string, name: string) => `${key}${renamed(name)}`));
  }
  editFile(join(copy.dir, 'tools.yaml'), (text) => text.replace('[normalize, sentiment, report]', `[${ACTORS.map(renamed).join(', ')}]`));
  return copy.dir;
}

afterAll(async () => {
  const transport = await RabbitMqTransport.connect({ url: RABBITMQ_URL });
  for (const queue of [...queues, BROKEN, env.ASYA_DLQ_QUEUE]) {
    for (const name of [queue, deadLetterQueueOf(queue)]) await transport.deleteQueue(name).catch(() => {});
  }
  await transport.close();
  for (const e of examples) e.cleanup();
}, 240_000);

test('--transport rabbitmq --demo: every queue is created up front, even for an actor that never starts', async () => {
  const dir = example();
  // An actor whose handler does not import: its sidecar never runs, so only dev mode can have made its queue.
  writeFileSync(
    join(dir, 'actors', 'broken.yaml'),
    readFileSync(join(dir, 'actors', 'normalize.yaml'), 'utf8').replace(renamed('normalize'), renamed('broken')).replace('"normalize.process"', '"no_such_module.process"'),
  );
  const run = spawnSync(process.execPath, [ASYA_BIN, 'dev', dir, '--transport', 'rabbitmq', '--demo'], { cwd: dir, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000 });
  expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
  expect(run.stderr).toContain('on the rabbitmq transport');
  expect(run.stderr).toContain(`actor ${renamed('broken')}: its handler failed to load`);
  expect(run.stdout).toContain('3 of 3 demo calls ended as expected');
  expect(run.stdout).toContain('"verdict": "positive (score +2 over 7 words)"');
  const transport = await RabbitMqTransport.connect({ url: RABBITMQ_URL });
  try {
    for (const queue of [...queues, BROKEN]) expect(await transport.queueDepth(queue)).toMatchObject({ ready: 0 });
  } finally {
    await transport.close();
  }
}, 240_000);

test('Ctrl-C on rabbitmq finishes what is in flight, leaves the rest queued, and the next run finishes it', async () => {
  const dir = example();
  const gate = gateHandler(dir, 'normalize');
  const args = ['--transport', 'rabbitmq', '--data-dir', join(dir, '.store')];
  const dev = await startDev(dir, args, env);
  const ids: string[] = [];
  for (const text of ['one good thing', 'two bad things', 'three nice things']) {
    const run = await asya(['call', 'analyze_text', '--text', text, '--no-wait'], { ASYA_GATEWAY_URL: dev.url });
    expect(run.status, run.stderr).toBe(0);
    ids.push((JSON.parse(run.stdout) as { envelope_id: string }).envelope_id);
  }
  dev.child.kill('SIGINT');
  await dev.waitFor(/draining: the actors finish the messages in flight; queued ones stay on rabbitmq/);
  writeFileSync(gate, 'open');
  expect(await dev.exited).toBe(0);
  const left = Number(dev.output().match(/drained: (\d+) message\(s\) stay queued on rabbitmq/)?.[1]);
  // The two calls normalize never started are still in its queue (the first may wait further down the route).
  expect(left).toBeGreaterThanOrEqual(2);

  const again = await startDev(dir, args, env);
  try {
    for (const id of ids) {
      const status = await asya(['status', id, '--wait'], { ASYA_GATEWAY_URL: again.url });
      expect(status.status, status.stderr).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({ id, status: 'succeeded' });
    }
  } finally {
    expect(await again.stop()).toBe(0);
  }
}, 240_000);
