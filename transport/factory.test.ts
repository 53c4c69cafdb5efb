import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { RABBITMQ_URL } from '../test/support/rabbitmq.ts';
import { createTransport, TransportConfigError, transportConfigFromEnv } from './factory.ts';
import { MemoryTransport } from './memory.ts';

describe('transportConfigFromEnv', () => {
  it('defaults to RabbitMQ on localhost like the original sidecar', () => {
    expect(transportConfigFromEnv({})).toEqual({ kind: 'rabbitmq', options: { url: 'amqp://guest:guest@localhost:5672/', exchange: 'asya' } });
  });

  it('builds the URL from parts, encoding credentials, unless ASYA_RABBITMQ_URL is set', () => {
    const parts = {
      ASYA_TRANSPORT: 'rabbitmq',
      ASYA_RABBITMQ_HOST: 'mq.internal',
      ASYA_RABBITMQ_PORT: '5673',
      ASYA_RABBITMQ_USERNAME: 'asya',
      ASYA_RABBITMQ_PASSWORD: 'p@ss:w/rd',
      ASYA_RABBITMQ_EXCHANGE: 'pipelines',
    };
    expect(transportConfigFromEnv(parts)).toEqual({
      kind: 'rabbitmq',
      options: { url: 'amqp://asya:p%40ss%3Aw%2Frd@mq.internal:5673/', exchange: 'pipelines' },
    });
    expect(transportConfigFromEnv({ ...parts, ASYA_RABBITMQ_URL: 'amqp://u:p@h:1/v' })).toMatchObject({ options: { url: 'amqp://u:p@h:1/v' } });
  });

  it('reads the SQS settings, treating empty as unset and 0 wait as the default 20 s', () => {
    expect(
      transportConfigFromEnv({
        ASYA_TRANSPORT: 'sqs',
        ASYA_SQS_ENDPOINT: 'http://127.0.0.1:5000',
        ASYA_AWS_REGION: 'eu-west-1',
        ASYA_SQS_WAIT_TIME_SECONDS: '0',
        ASYA_SQS_VISIBILITY_TIMEOUT: '600',
        AWS_ACCESS_KEY_ID: 'k',
        AWS_SECRET_ACCESS_KEY: 's',
      }),
    ).toEqual({
      kind: 'sqs',
      options: {
        endpoint: 'http://127.0.0.1:5000',
        region: 'eu-west-1',
        waitTimeSeconds: 20,
        visibilityTimeoutSeconds: 600,
        credentials: { accessKeyId: 'k', secretAccessKey: 's' },
      },
    });
    const warnings: string[] = [];
    expect(
      transportConfigFromEnv({ ASYA_TRANSPORT: 'SQS', ASYA_SQS_ENDPOINT: '', ASYA_SQS_WAIT_TIME_SECONDS: '1', ASYA_SQS_VISIBILITY_TIMEOUT: 'x' }, (w) => warnings.push(w)),
    ).toEqual({ kind: 'sqs', options: { region: 'us-east-1', waitTimeSeconds: 1 } });
    expect(warnings).toEqual(['Invalid ASYA_SQS_VISIBILITY_TIMEOUT="x": expected an integer >= 1; ignored']);
  });

  it('reads the original gateway\'s ASYA_SQS_REGION as ASYA_AWS_REGION, with a deprecation warning', () => {
    const warnings: string[] = [];
    expect(transportConfigFromEnv({ ASYA_TRANSPORT: 'sqs', ASYA_SQS_REGION: 'eu-central-1' }, (w) => warnings.push(w))).toMatchObject({ options: { region: 'eu-central-1' } });
    expect(warnings).toEqual(['ASYA_SQS_REGION is deprecated: read as ASYA_AWS_REGION; rename it']);
  });

  it('puts ASYA_RABBITMQ_VHOST in the URL path, encoded; "/" is the default vhost', () => {
    expect(transportConfigFromEnv({ ASYA_RABBITMQ_VHOST: 'pipelines/prod' })).toMatchObject({ options: { url: 'amqp://guest:guest@localhost:5672/pipelines%2Fprod' } });
    expect(transportConfigFromEnv({ ASYA_RABBITMQ_VHOST: '/' })).toMatchObject({ options: { url: 'amqp://guest:guest@localhost:5672/' } });
  });

  it('reads credentials from <NAME>_FILE (a Secret mounted as files); both set, or an unreadable file, is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'asya-creds-'));
    try {
      for (const [name, text] of [['user', 'asya\n'], ['password', 'p@ss\n'], ['key', 'k'], ['secret', 's\n']] as const) writeFileSync(join(dir, name), text);
      expect(transportConfigFromEnv({ ASYA_RABBITMQ_USERNAME_FILE: join(dir, 'user'), ASYA_RABBITMQ_PASSWORD_FILE: join(dir, 'password') })).toMatchObject({
        options: { url: 'amqp://asya:p%40ss@localhost:5672/' },
      });
      expect(transportConfigFromEnv({ ASYA_TRANSPORT: 'sqs', AWS_ACCESS_KEY_ID_FILE: join(dir, 'key'), AWS_SECRET_ACCESS_KEY_FILE: join(dir, 'secret') })).toMatchObject({
        options: { credentials: { accessKeyId: 'k', secretAccessKey: 's' } },
      });
      expect(() => transportConfigFromEnv({ ASYA_RABBITMQ_PASSWORD: 'x', ASYA_RABBITMQ_PASSWORD_FILE: join(dir, 'password') })).toThrow(
        'set ASYA_RABBITMQ_PASSWORD or ASYA_RABBITMQ_PASSWORD_FILE, not both',
      );
      expect(() => transportConfigFromEnv({ ASYA_RABBITMQ_PASSWORD_FILE: join(dir, 'missing') })).toThrow(
        new RegExp(`^ASYA_RABBITMQ_PASSWORD_FILE=${join(dir, 'missing')} cannot be read: ENOENT`),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('warns about the original\'s transport variables that are not read any more, naming what replaces them', () => {
    const warnings: string[] = [];
    transportConfigFromEnv({ ASYA_RABBITMQ_PREFETCH: '10', ASYA_QUEUE_RETRY_MAX_ATTEMPTS: '5' }, (w) => warnings.push(w));
    expect(warnings).toEqual([
      expect.stringMatching(/^ASYA_QUEUE_RETRY_MAX_ATTEMPTS is not read any more: /),
      "ASYA_RABBITMQ_PREFETCH is not read any more: the prefetch is the sidecar's `ASYA_CONCURRENCY` plus one",
    ]);
  });

  it('names the allowed values when ASYA_TRANSPORT is unknown', () => {
    expect(() => transportConfigFromEnv({ ASYA_TRANSPORT: 'kafka' })).toThrow(TransportConfigError);
    expect(() => transportConfigFromEnv({ ASYA_TRANSPORT: 'kafka' })).toThrow(/memory, rabbitmq, sqs, nats; got "kafka"/);
  });
});

describe('createTransport', () => {
  it('shares one memory broker when given one', async () => {
    const shared = new MemoryTransport();
    expect(await createTransport({ ASYA_TRANSPORT: 'memory' }, { memory: shared })).toBe(shared);
    expect(await createTransport({ ASYA_TRANSPORT: 'memory' })).toBeInstanceOf(MemoryTransport);
  });

  it('ASYA_QUEUE_PREFIX puts every queue under the prefix on the broker, and refuses a malformed prefix', async () => {
    const broker = new MemoryTransport();
    const t = await createTransport({ ASYA_TRANSPORT: 'memory', ASYA_QUEUE_PREFIX: 'team-a-' }, { memory: broker });
    await t.ensureQueue('asya-x');
    await t.publish('asya-x', Buffer.from('{}'));
    expect(await broker.queueDepth('team-a-asya-x')).toMatchObject({ ready: 1 });
    expect(await t.queueDepth('asya-x')).toMatchObject({ ready: 1 });
    const got: string[] = [];
    const consumer = await t.consume('asya-x', async (d) => {
      got.push(d.body.toString());
      await t.ack(d);
    });
    await vi.waitFor(() => expect(got).toEqual(['{}']));
    await consumer.stop();
    expect(await broker.queueDepth('team-a-asya-x')).toMatchObject({ ready: 0, inFlight: 0 });
    await expect(createTransport({ ASYA_TRANSPORT: 'memory', ASYA_QUEUE_PREFIX: 'Team_A' })).rejects.toThrow(/ASYA_QUEUE_PREFIX/);
  });

  it('ASYA_QUEUE_PREFIX on a real RabbitMQ: the prefixed queue is what the broker holds', async () => {
    const queue = `asya-prefix-test-${process.pid}`;
    const t = await createTransport({ ASYA_TRANSPORT: 'rabbitmq', ASYA_RABBITMQ_URL: RABBITMQ_URL, ASYA_QUEUE_PREFIX: 'tp-' });
    const raw = await createTransport({ ASYA_TRANSPORT: 'rabbitmq', ASYA_RABBITMQ_URL: RABBITMQ_URL });
    try {
      await t.ensureQueue(queue);
      await t.publish(queue, Buffer.from('hello'));
      await vi.waitFor(async () => expect(await raw.queueDepth(`tp-${queue}`)).toMatchObject({ ready: 1 }));
    } finally {
      await t.deleteQueue(queue);
      await Promise.all([t.close(), raw.close()]);
    }
  });

  it('connects to RabbitMQ', async () => {
    const t = await createTransport({ ASYA_TRANSPORT: 'rabbitmq', ASYA_RABBITMQ_URL: RABBITMQ_URL });
    expect(t.kind).toBe('rabbitmq');
    await t.close();
  });

  it('builds an SQS transport without contacting AWS', async () => {
    const t = await createTransport({ ASYA_TRANSPORT: 'sqs', ASYA_SQS_ENDPOINT: 'http://127.0.0.1:9' });
    expect(t.kind).toBe('sqs');
    await t.close();
  });
});
