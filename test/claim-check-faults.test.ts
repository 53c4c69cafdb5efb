/**
 * Issue 18, "A 50 MB fan-out" and "Store outages": ten 5 MB children offloaded one by one; a payload store
 * that goes away during a hop holds the message until it is back (nothing lost, nothing at error-end); a
 * reference to a deleted object reaches error-end with a clear error. RabbitMQ, real runtimes and sidecars.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilePayloadStore, S3PayloadStore } from '../payload-store/index.ts';
import { payloadRefOf } from '../protocol/index.ts';
import { TRANSPORT_PLUGINS } from '../transport/registry.ts';
import type { Transport } from '../transport/transport.ts';
import { envelopeSizes, largePayload, resolveFinal, sendByReference, startSteps, stopSteps, type RunningStep, type Step } from './support/claim-check.ts';
import { startMoto, type MotoServer } from './support/moto.ts';
import { collectEnds } from './support/pipeline.ts';
import { TestQueues } from './support/queues.ts';
import { RABBITMQ_URL } from './support/rabbitmq.ts';
import { startTcpRelay, type TcpRelay } from './support/tcp-relay.ts';

const MB = 1_000_000;
const RABBITMQ_ENV = { ASYA_TRANSPORT: 'rabbitmq', ASYA_RABBITMQ_URL: RABBITMQ_URL };

let transport: Transport;
const dirs: string[] = [];
beforeAll(async () => {
  transport = await TRANSPORT_PLUGINS.rabbitmq.connect(TRANSPORT_PLUGINS.rabbitmq.optionsFromEnv({ ASYA_RABBITMQ_URL: RABBITMQ_URL }));
});
afterAll(async () => {
  await transport?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function storeDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'asya-payloads-'));
  dirs.push(dir);
  return dir;
}

/** A pipeline of `steps` with its own queues and end queues; `run` gets the actor names and the collector. */
async function withPipeline(steps: Step[], env: Record<string, string>, run: (names: string[], ends: Awaited<ReturnType<typeof collectEnds>>, running: RunningStep[]) => Promise<void>) {
  const queues = new TestQueues();
  const names = steps.map((s, i) => queues.name(`cc-${s.handler}${i}`).slice('asya-'.length));
  const ends = await collectEnds(transport, [], true);
  let running: RunningStep[] = [];
  try {
    running = await startSteps(names, steps, { ...RABBITMQ_ENV, ...env, ...ends.sidecarEnv });
    await run(names, ends, running);
  } finally {
    await stopSteps(running);
    await ends.stop();
    await queues.cleanup(transport);
  }
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a 50 MB fan-out', () => {
  it('ten children of 5 MB are offloaded one by one and each reaches happy-end whole', async () => {
    const dir = storeDir();
    const store = new FilePayloadStore(dir);
    const steps: Step[] = [{ kind: 'python', handler: 'split' }, { kind: 'node', handler: 'relay' }, { kind: 'python', handler: 'relay' }];
    await withPipeline(steps, { ASYA_PAYLOAD_STORE: dir }, async (names, ends, running) => {
      const { json } = largePayload(50 * MB, { parts: 10 });
      const id = `fan-${randomUUID()}`;
      await sendByReference(transport, store, id, names, json);
      const children = Array.from({ length: 10 }, (_, i) => `${id}-${i}`);
      await ends.waitForIds(children, 60_000);
      for (const child of children) {
        const [arrival] = ends.byId(child);
        expect(arrival!.queue).toBe(ends.happyQueue);
        const result = await resolveFinal<{ data: string; index: number; seen: string[] }>(store, arrival!.envelope.payload);
        const sha = createHash('sha256').update(result.data).digest('hex');
        expect(result.data.length).toBe(5 * MB);
        expect(result.seen).toEqual([sha, sha, sha]);
      }
      // The splitter sent ten messages, each a reference; nobody moved more than 64 KiB through the broker.
      const sizes = await Promise.all(running.map(envelopeSizes));
      expect(sizes.map((s) => s.sent)).toEqual([{ count: 10, upTo64KiB: 10 }, { count: 10, upTo64KiB: 10 }, { count: 10, upTo64KiB: 10 }]);
    });
  }, 120_000);
});

describe('store outages', () => {
  let moto: MotoServer;
  let relay: TcpRelay;
  beforeAll(async () => {
    moto = await startMoto();
    relay = await startTcpRelay(moto.endpoint, 80);
  }, 60_000);
  afterAll(async () => {
    await relay?.close();
    await moto?.stop();
  });

  it('the store away during a hop: the message is held and goes on when the store is back, nothing lost', async () => {
    const bucket = `outage-${randomUUID().slice(0, 8)}`;
    const direct = new S3PayloadStore({ bucket, prefix: 'p/', ...moto.clientConfig });
    const env = { ASYA_PAYLOAD_STORE: `s3://${bucket}/p`, ASYA_PAYLOAD_S3_ENDPOINT: relay.url, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };
    await withPipeline([{ kind: 'python', handler: 'relay' }], env, async (names, ends, [step]) => {
      const { json, sha256 } = largePayload(2 * MB);
      const id = `outage-${randomUUID()}`;
      await relay.down();
      await sendByReference(transport, direct, id, names, json);
      await waitFor('the sidecar to hold the message', () => step!.sidecar.output().includes('Payload store unavailable'));
      expect(ends.byId(id)).toEqual([]);
      await relay.up();
      const [arrival] = await ends.waitForIds([id], 60_000);
      expect(arrival!.queue).toBe(ends.happyQueue);
      expect((await resolveFinal<{ seen: string[] }>(direct, arrival!.envelope.payload)).seen).toEqual([sha256]);
      expect(ends.arrivals.filter((a) => a.queue === ends.errorQueue)).toEqual([]);
    });
  }, 120_000);

  it('a reference to a deleted object reaches error-end with a clear error', async () => {
    const dir = storeDir();
    const store = new FilePayloadStore(dir);
    await withPipeline([{ kind: 'python', handler: 'relay' }], { ASYA_PAYLOAD_STORE: dir }, async (names, ends) => {
      const id = `deleted-${randomUUID()}`;
      const { json } = largePayload(2 * MB);
      const { offloadPayload } = await import('../payload-store/index.ts');
      const { ref, payload } = await offloadPayload(store, id, json);
      unlinkSync(fileURLToPath(ref.uri));
      await transport.publish(`asya-${names[0]}`, Buffer.from(JSON.stringify({ id, route: { actors: names, current: 0 }, payload })));
      const [arrival] = await ends.waitForIds([id], 30_000);
      expect(arrival!.queue).toBe(ends.errorQueue);
      const error = arrival!.envelope.payload as { code: string; error: string; original_payload: unknown };
      expect(error.code).toBe('payload_unavailable');
      expect(error.error).toContain('does not exist');
      // The reference travels on in the error, so a retry after restoring the object can succeed.
      expect(payloadRefOf(error.original_payload)).toEqual(ref);
    });
  }, 60_000);
});
