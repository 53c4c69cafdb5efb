/**
 * ASYA_GATEWAY_KEEP_ALIVE_TIMEOUT: idle keep-alive connections outlive Node's 5 s default, so the client or
 * proxy in front closes them first. With Node's default a client that sends on a connection the gateway is
 * closing at that moment gets ECONNRESET (bench/e2e lost a call to it), and a load balancer a 502.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestSchema } from '../../test/support/postgres.ts';
import { startTestGateway, testSchema, waitUntil, type TestGateway } from '../../test/support/gateway-harness.ts';

let schema: TestSchema;
const gateways: TestGateway[] = [];

beforeAll(async () => {
  schema = await testSchema('keep_alive');
});

afterAll(async () => {
  for (const gw of gateways) await gw.stop();
  await schema?.drop();
});

async function gateway(config: { keepAliveTimeoutMs?: number } = {}): Promise<TestGateway> {
  const gw = await startTestGateway({ schema, config });
  gateways.push(gw);
  return gw;
}

/** A raw connection, so the test sees exactly when the server closes it. */
async function open(url: string): Promise<{ socket: Socket; get(): Promise<string>; closed: Promise<void> }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => {});
  let buffered = '';
  socket.on('data', (chunk: Buffer) => (buffered += chunk.toString('latin1')));
  return {
    socket,
    closed,
    async get() {
      buffered = '';
      socket.write(`GET /health HTTP/1.1\r\nHost: ${hostname}\r\nConnection: keep-alive\r\n\r\n`);
      await waitUntil(() => /\r\n\r\n/.test(buffered) && /^HTTP\/1\.1 \d{3}/.test(buffered), 10_000, 'a response');
      return buffered;
    },
  };
}

describe('HTTP keep-alive', () => {
  it('keeps an idle connection open for 65 s by default, and says so in Keep-Alive', async () => {
    const gw = await gateway();
    const conn = await open(gw.url);
    const first = await conn.get();
    expect(first).toMatch(/^HTTP\/1\.1 200/);
    expect(first).toMatch(/\r\nkeep-alive: timeout=65\r\n/i);
    // Longer than Node's own default (5 s): the same connection still answers.
    await new Promise((resolve) => setTimeout(resolve, 6000));
    expect(conn.socket.destroyed).toBe(false);
    expect(await conn.get()).toMatch(/^HTTP\/1\.1 200/);
    conn.socket.destroy();
  }, 30_000);

  it('closes an idle connection after the configured timeout', async () => {
    const gw = await gateway({ keepAliveTimeoutMs: 1000 });
    const conn = await open(gw.url);
    expect(await conn.get()).toMatch(/\r\nkeep-alive: timeout=1\r\n/i);
    // Closed by the server, not by this test: a failure bound, not a timing.
    await Promise.race([conn.closed, new Promise((_, reject) => setTimeout(() => reject(new Error('still open after 20 s')), 20_000))]);
  }, 30_000);
});
