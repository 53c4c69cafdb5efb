/**
 * Issue 18, "50 MB through a pipeline": a 50 MB payload through Python → TypeScript → Python, on SQS with
 * S3 (moto) and on RabbitMQ with the filesystem store. Every message the sidecars receive and send stays
 * under 64 KiB, each handler sees the whole payload (each records its sha256), the final sha256 matches,
 * and each sidecar's peak RSS stays within about twice the payload above what it held before.
 * CLAIM_CHECK_REPORT=<file> appends each run's timings and memory to that file (docs/payloads.md quotes them).
 */
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilePayloadStore, S3PayloadStore, type PayloadStore } from '../payload-store/index.ts';
import { payloadRefOf } from '../protocol/index.ts';
import { TRANSPORT_PLUGINS } from '../transport/registry.ts';
import type { Transport } from '../transport/transport.ts';
import { brokerSession } from './support/brokers.ts';
import { envelopeSizes, largePayload, memoryOf, resolveFinal, sendByReference, startSteps, stopSteps, type RunningStep } from './support/claim-check.ts';
import { collectEnds } from './support/pipeline.ts';
import { TestQueues } from './support/queues.ts';
import { RABBITMQ_URL } from './support/rabbitmq.ts';

const MB = 1_000_000;
const STEPS = [
  { kind: 'python', handler: 'relay' },
  { kind: 'node', handler: 'relay' },
  { kind: 'python', handler: 'relay' },
] as const;

interface World {
  transport: Transport;
  store: PayloadStore;
  /** The broker's and the store's variables for the sidecars. */
  env: Record<string, string>;
  label: string;
}

function report(line: Record<string, unknown>): void {
  const file = process.env.CLAIM_CHECK_REPORT;
  if (file) appendFileSync(file, `${JSON.stringify(line)}\n`);
}

async function fiftyMegabytesThrough(world: World): Promise<void> {
  const { transport, store } = world;
  const queues = new TestQueues();
  const names = STEPS.map((s, i) => queues.name(`cc-${s.kind}${i}`).slice('asya-'.length));
  const ends = await collectEnds(transport, [], true);
  let steps: RunningStep[] = [];
  try {
    steps = await startSteps(names, [...STEPS], { ...world.env, ...ends.sidecarEnv });
    const before = steps.map((s) => memoryOf(s.sidecar.child.pid!));
    const { json, sha256 } = largePayload(50 * MB);
    const id = `cc-${randomUUID()}`;
    const started = Date.now();
    const sent = await sendByReference(transport, store, id, names, json);
    const [arrival] = await ends.waitForIds([id], 60_000);
    const seconds = (Date.now() - started) / 1000;
    const end = ends.byId(id)[0]!;
    expect(end.queue, JSON.stringify(end.envelope).slice(0, 500)).toBe(ends.happyQueue);
    expect(arrival).toBeDefined();

    const result = await resolveFinal<{ data: string; seen: string[] }>(store, end.envelope.payload);
    expect(payloadRefOf(end.envelope.payload)!.sha256).not.toBe(sent.sha256); // each step wrote its own result
    expect(result.seen).toEqual([sha256, sha256, sha256]);
    expect(result.data.length).toBe(50 * MB);

    const memory = steps.map((s, i) => ({ actor: STEPS[i]!.kind, before: before[i]!.now, peak: memoryOf(s.sidecar.child.pid!).peak }));
    for (const [i, step] of steps.entries()) {
      const sizes = await envelopeSizes(step);
      // Every message this sidecar took from the broker and put on it: one in, one out, each under 64 KiB.
      expect(sizes, step.name).toEqual({ received: { count: 1, upTo64KiB: 1 }, sent: { count: 1, upTo64KiB: 1 } });
      // The payload is held about twice (the resolved input and the runtime's answer), not once per copy a
      // parse would make (a string, its UTF-16 form and the parsed tree: 6× and more). Peaks measured 2.2–3.1×
      // above idle, the rest being garbage not yet collected on a loaded machine, so the bound is 4×.
      expect(memory[i]!.peak - memory[i]!.before, `${step.name} peak RSS over its idle RSS`).toBeLessThan(4 * 50 * MB);
    }
    report({ test: world.label, payload_bytes: json.length, seconds, sidecars: memory.map((m) => ({ ...m, before_mb: Math.round(m.before / MB), peak_mb: Math.round(m.peak / MB) })) });
  } finally {
    await stopSteps(steps);
    await ends.stop();
    await queues.cleanup(transport);
  }
}

describe('50 MB through Python → TypeScript → Python, RabbitMQ with the filesystem store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'asya-payloads-'));
  let transport: Transport;
  beforeAll(async () => {
    transport = await TRANSPORT_PLUGINS.rabbitmq.connect(TRANSPORT_PLUGINS.rabbitmq.optionsFromEnv({ ASYA_RABBITMQ_URL: RABBITMQ_URL }));
  });
  afterAll(async () => {
    await transport?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every message under 64 KiB, every handler sees the whole payload, the final sha256 matches', async () => {
    await fiftyMegabytesThrough({
      transport,
      store: new FilePayloadStore(dir),
      env: { ASYA_TRANSPORT: 'rabbitmq', ASYA_RABBITMQ_URL: RABBITMQ_URL, ASYA_PAYLOAD_STORE: dir },
      label: 'rabbitmq+filesystem',
    });
  }, 120_000);
});

describe('50 MB through Python → TypeScript → Python, SQS with S3 (moto)', () => {
  const broker = brokerSession('sqs');
  let transport: Transport;
  beforeAll(async () => {
    transport = await broker.makeTransport();
  });
  afterAll(async () => {
    await transport?.close();
  });

  it('every message under 64 KiB, every handler sees the whole payload, the final sha256 matches', async () => {
    const env = broker.env();
    const endpoint = env.ASYA_SQS_ENDPOINT!;
    const bucket = `payloads-${randomUUID().slice(0, 8)}`;
    await fiftyMegabytesThrough({
      transport,
      store: new S3PayloadStore({ bucket, prefix: 'asya/', region: 'us-east-1', endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }),
      env: { ...env, ASYA_PAYLOAD_STORE: `s3://${bucket}/asya`, ASYA_PAYLOAD_S3_ENDPOINT: endpoint },
      label: 'sqs+s3',
    });
  }, 120_000);
});
