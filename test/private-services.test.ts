/**
 * The private broker and database that fault tests stop and kill: each really goes down and comes back on
 * the same data, and the shared services are not touched.
 */
import { afterAll, describe, expect, test } from 'vitest';
import amqp from 'amqplib';
import postgres from 'postgres';
import { startPrivateRabbitmq, amqpAnswers, type PrivateRabbitmq } from './support/private-rabbitmq.ts';
import { RABBITMQ_URL } from './support/rabbitmq.ts';
import { startPrivatePostgres, type PrivatePostgres } from './support/private-postgres.ts';

describe('private RabbitMQ node', () => {
  let broker: PrivateRabbitmq | undefined;
  afterAll(async () => broker?.dispose());

  test('takes its own config, survives kill -9 with its durable queue, and is separate from the shared broker', async () => {
    broker = await startPrivateRabbitmq({ config: ['max_message_size = 1048576'] });
    expect(broker.url).not.toBe(RABBITMQ_URL);
    expect(await broker.ctl('environment')).toMatch(/max_message_size,\s*1048576/);

    const conn = await amqp.connect(broker.url);
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue('private-durable', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await conn.close();

    await broker.kill();
    expect(await amqpAnswers(broker.port)).toBe(false);
    expect(await amqpAnswers(Number(new URL(RABBITMQ_URL).port || 5672))).toBe(true);

    await broker.start();
    const again = await amqp.connect(broker.url);
    const ch2 = await again.createChannel();
    const found = await ch2.checkQueue('private-durable');
    expect(found.queue).toBe('private-durable');
    await again.close();
  });
});

describe('private PostgreSQL cluster', () => {
  let db: PrivatePostgres | undefined;
  afterAll(async () => db?.dispose());

  test('keeps committed rows across kill -9 and a stop, and refuses connections while down', async () => {
    db = await startPrivatePostgres();
    expect(db.port).not.toBe(5432);
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    await sql`create table t (v int)`;
    await sql`insert into t values (1)`;
    await sql.end();

    await db.kill();
    expect(await db.accepts()).toBe(false);
    await db.start();
    await db.stop();
    expect(await db.accepts()).toBe(false);
    await db.start();

    const again = postgres(db.url, { max: 1, onnotice: () => {} });
    expect(await again`select v from t`).toEqual([{ v: 1 }]);
    await again.end();
  });
});
