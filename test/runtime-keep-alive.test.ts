/**
 * Keep-alive between the sidecar's runtime client and real runtime processes: several requests on one
 * connection, the original's plain `ready` keeping one connection per request, restarts with idle pooled
 * connections, and a runtime killed mid-request on a kept-alive connection.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { framePrefix, readFrame } from '../protocol/index.ts';
import { RuntimeCallError, RuntimeClient } from '../sidecar/runtime-client.ts';
import { fixtureGate } from './support/gated-handler.ts';
import { fixtureHandler, REPO_ROOT, startRuntime, type RuntimeKind, type RuntimeProcess } from './support/runtime-process.ts';
import { join } from 'node:path';

const env = (payload: unknown) => ({ id: 'e-1', route: { actors: ['a', 'b'], current: 0 }, payload });
const body = (payload: unknown) => Buffer.from(JSON.stringify(env(payload)));
const callOptions = { timeoutMs: 20_000, maxFrameBytes: 64 * 1024 * 1024 };

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function runtime(kind: RuntimeKind, fixture = 'echo', extra: { env?: Record<string, string>; dir?: string } = {}): Promise<RuntimeProcess> {
  const rt = await startRuntime(kind, { handler: fixtureHandler(kind, fixture), env: extra.env ?? {}, ...(extra.dir ? { dir: extra.dir } : {}) });
  // SIGTERM: the Python runtime's forked workers outlive a SIGKILLed parent.
  cleanup.push(() => rt.stop());
  return rt;
}

function clientFor(rt: RuntimeProcess, maxIdle = 4, keepAlive = true): RuntimeClient {
  const client = new RuntimeClient({ socketPath: rt.socketPath, readyFile: rt.readyFile, keepAlive, maxIdle });
  cleanup.push(() => client.close());
  return client;
}

function connected(socketPath: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    socket.once('error', reject);
    socket.once('connect', () => resolve(socket));
  });
}

describe.each(['node', 'python'] as const)('%s runtime, keep-alive', (kind) => {
  test('several requests on one raw connection, then one without the bit closes it', async () => {
    const rt = await runtime(kind);
    const socket = await connected(rt.socketPath);
    cleanup.push(() => socket.destroy());
    for (let n = 0; n < 5; n++) {
      const data = body({ n });
      socket.write(Buffer.concat([framePrefix(data.length, true), data]));
      const [result] = JSON.parse((await readFrame(socket)).toString('utf8'));
      expect(result.payload).toEqual({ n });
    }
    const last = body({ n: 'last' });
    const closed = new Promise<void>((resolve) => socket.once('end', () => resolve()));
    socket.write(Buffer.concat([framePrefix(last.length, false), last]));
    expect(JSON.parse((await readFrame(socket)).toString('utf8'))[0].payload).toEqual({ n: 'last' });
    socket.resume();
    await closed;
  });

  test("the sidecar's client reuses one connection for requests in turn", async () => {
    const rt = await runtime(kind, 'Counter.process');
    const client = clientFor(rt);
    for (let i = 0; i < 5; i++) {
      const [result] = await client.call(body({ request_id: i }), callOptions);
      expect(result).toMatchObject({ payload: { count: i + 1 } });
      expect(client.idleConnections).toBe(1);
    }
  });

  test('ASYA_RUNTIME_KEEP_ALIVE=false keeps one connection per request even with our runtime', async () => {
    const rt = await runtime(kind);
    const client = clientFor(rt, 4, false);
    for (let i = 0; i < 3; i++) expect((await client.call(body(i), callOptions))[0]).toMatchObject({ payload: i });
    expect(client.idleConnections).toBe(0);
  });

  test('a ready file read while still empty is read again on the next call', async () => {
    const rt = await runtime(kind);
    const written = readFileSync(rt.readyFile, 'utf8');
    // What a reader sees between a non-atomic writer's open and its write.
    writeFileSync(rt.readyFile, '');
    const client = clientFor(rt);
    expect((await client.call(body('early'), callOptions))[0]).toMatchObject({ payload: 'early' });
    expect(client.idleConnections).toBe(0);
    writeFileSync(rt.readyFile, written);
    expect((await client.call(body('later'), callOptions))[0]).toMatchObject({ payload: 'later' });
    expect(client.idleConnections).toBe(1);
  });

  test('a runtime restart with idle pooled connections loses no request', async () => {
    const first = await runtime(kind, 'echo', { env: { ASYA_RUNTIME_WORKERS: '4' } });
    const client = clientFor(first, 4);
    await Promise.all([0, 1, 2, 3].map((i) => client.call(body(i), callOptions)));
    expect(client.idleConnections).toBeGreaterThan(0);
    await first.stop('SIGTERM');
    // The runtime closed its idle connections: they leave the pool at once.
    await expect.poll(() => client.idleConnections, { timeout: 5000 }).toBe(0);
    const second = await runtime(kind, 'echo', { dir: first.dir, env: { ASYA_RUNTIME_WORKERS: '4' } });
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => client.call(body(i), callOptions)));
    expect(results.map((r) => (r[0] as { payload: unknown }).payload)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(second.child.exitCode).toBe(null);
  });

  test('a restart the pool has not noticed yet: requests are sent again on fresh connections, none lost', async () => {
    const first = await runtime(kind);
    const client = clientFor(first, 4);
    await Promise.all([0, 1, 2].map((i) => client.call(body(i), callOptions)));
    const idleBefore = client.idleConnections;
    expect(idleBefore).toBeGreaterThan(0);
    first.child.kill('SIGKILL');
    await first.exited;
    // A killed runtime leaves its ready file behind; the new one must write its own before it counts as up.
    rmSync(first.readyFile, { force: true });
    const second = await runtime(kind, 'echo', { dir: first.dir });
    // The same tick as the calls: some go out on connections whose runtime is gone (EPIPE/ECONNRESET).
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => client.call(body(i), callOptions)));
    expect(results.map((r) => (r[0] as { payload: unknown }).payload)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(second.child.exitCode).toBe(null);
  });

  test('a request on a pooled connection whose runtime is already gone is sent again, not lost', async () => {
    const rt = await runtime(kind);
    const client = clientFor(rt, 1);
    await client.call(body('warm'), callOptions);
    expect(client.idleConnections).toBe(1);
    process.kill(rt.child.pid!, 'SIGKILL');
    // Blocks this thread, so the pool cannot see the connection close before the next call takes it.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
    const failure = await client.call(body('after'), callOptions).catch((err: unknown) => err);
    // The runtime never read it (EPIPE or ECONNRESET), so it went again on a fresh connection, which found
    // no runtime: `unavailable`, which the router holds and retries, where `connection_lost` would count a delivery.
    expect(client.resent).toBe(1);
    expect(failure).toBeInstanceOf(RuntimeCallError);
    expect((failure as RuntimeCallError).failure).toBe('unavailable');
  });

  test('a runtime killed mid-request on a kept-alive connection still gives connection_lost', async () => {
    const gate = fixtureGate();
    cleanup.push(() => gate.dispose());
    const rt = await runtime(kind, 'gated');
    const client = clientFor(rt, 1);
    gate.open();
    await client.call(body({ ...gate.payload, warm: true }), callOptions);
    expect(client.idleConnections).toBe(1);
    const gate2 = fixtureGate();
    cleanup.push(() => gate2.dispose());
    const held = client.call(body({ ...gate2.payload, n: 2 }), callOptions).then(
      () => 'answered',
      (err: unknown) => err,
    );
    expect(client.idleConnections).toBe(0); // it went out on the kept connection
    await expect.poll(() => gate2.started(), { timeout: 20_000 }).toBe(1);
    rt.child.kill('SIGKILL');
    const failure = await held;
    expect(failure).toBeInstanceOf(RuntimeCallError);
    expect((failure as RuntimeCallError).failure).toBe('connection_lost');
  });
});

test('a Python runtime with fewer workers than the pool swaps connections and still answers every request', async () => {
  const rt = await runtime('python', 'echo', { env: { ASYA_RUNTIME_WORKERS: '2' } });
  const client = clientFor(rt, 4);
  for (let round = 0; round < 5; round++) {
    const results = await Promise.all([0, 1, 2, 3].map((i) => client.call(body({ round, i }), callOptions)));
    expect(results.map((r) => (r[0] as { payload: unknown }).payload)).toEqual([0, 1, 2, 3].map((i) => ({ round, i })));
  }
});

test("the original's plain `ready` file gets one connection per request, never the bit", async () => {
  const rt = await startRuntime('python', { handler: 'unused', command: ['python3', join(REPO_ROOT, 'test/support/original_wire_runtime.py')] });
  cleanup.push(() => rt.stop());
  const client = clientFor(rt, 4);
  // The original would read a length with the top bit set as a 2 GiB frame and wait for it until the timeout.
  for (let i = 0; i < 3; i++) {
    const [result] = await client.call(body({ scenario: 'echo', i }), { ...callOptions, timeoutMs: 5000 });
    expect(result).toMatchObject({ payload: { scenario: 'echo', i } });
  }
  expect(client.idleConnections).toBe(0);
});
