/**
 * The claim check's cost per hop on RabbitMQ: payloads of 1 KiB, 100 KiB, 1 MiB and 10 MiB through one actor
 * (`asya sidecar` + the Node runtime's echo), inline and offloaded to a filesystem store, against the raw
 * baseline of the same sizes in the same run: amqplib consume → publish (confirmed, persistent) → ack.
 * Offloaded inputs are stored before the clock starts (the gateway's part); the hop then resolves the
 * input, runs the handler and stores its result. Reports messages per second and the ratio to raw.
 *
 *   npx tsx bench/payloads/run.ts [scale]    (scale multiplies the message counts; default 1)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { FilePayloadStore, offloadPayload } from '../../payload-store/index.ts';
import { fixtureHandler, REPO_ROOT, startRuntime } from '../../test/support/runtime-process.ts';
import { startAsya, waitForLine } from '../processes.ts';
import { freshActorQueue, printTable, rssMiB } from '../support.ts';

const URL = process.env.ASYA_BENCH_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const SCALE = Number(process.argv[2] ?? 1);
const KiB = 1024;
const SIZES = [
  { label: '1 KiB', bytes: KiB, count: 200 },
  { label: '100 KiB', bytes: 100 * KiB, count: 100 },
  { label: '1 MiB', bytes: 1024 * KiB, count: 30 },
  { label: '10 MiB', bytes: 10 * 1024 * KiB, count: 6 },
];

// Without Nagle's algorithm, as the transport connects: a held-back publish or ack would add up to 40 ms to what is measured.
const connection = await amqp.connect(URL, { noDelay: true });
const channel = await connection.createConfirmChannel();
await channel.assertExchange('asya', 'topic', { durable: true });
const storeDir = mkdtempSync(join(tmpdir(), 'asya-bench-payloads-'));
const store = new FilePayloadStore(storeDir);

async function bodies(actor: string, next: string, bytes: number, count: number, offload: boolean): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const id = randomUUID();
    const value = { pad: 'x'.repeat(bytes), i };
    const payload = offload ? (await offloadPayload(store, id, Buffer.from(JSON.stringify(value)))).payload : value;
    out.push(Buffer.from(JSON.stringify({ id, route: { actors: [actor, next], current: 0 }, payload })));
  }
  return out;
}

/** Publishes every body, then waits until as many messages reached `output`; seconds from first publish. */
async function timeHop(actor: string, output: string, messages: Buffer[]): Promise<number> {
  const ch = await connection.createChannel();
  await ch.prefetch(50);
  let arrived = 0;
  const done = new Promise<void>((resolve) => {
    void ch.consume(output, (msg) => {
      if (!msg) return;
      ch.ack(msg);
      if (++arrived === messages.length) resolve();
    });
  });
  const started = performance.now();
  for (const body of messages) {
    await new Promise<void>((resolve, reject) => channel.publish('asya', actor, body, { persistent: true, contentType: 'application/json' }, (err) => (err ? reject(err) : resolve())));
  }
  await done;
  const seconds = (performance.now() - started) / 1000;
  await ch.close();
  return seconds;
}

const rows: Array<Record<string, string | number>> = [];
const runtime = await startRuntime('node', { handler: fixtureHandler('node', 'echo') });
try {
  for (const size of SIZES) {
    const count = Math.max(3, Math.round(size.count * SCALE));
    const results: Record<string, { seconds: number; rss?: number }> = {};
    for (const mode of ['raw', 'inline', 'offloaded'] as const) {
      const actor = `bench-pl-${mode}-${randomUUID().slice(0, 6)}`;
      const next = `${actor}-out`;
      const input = await freshActorQueue(channel, actor);
      const output = await freshActorQueue(channel, next);
      const messages = await bodies(actor, next, size.bytes, count, mode === 'offloaded');
      let stop: () => Promise<void>;
      let pid: number;
      if (mode === 'raw') {
        const child = spawn(process.execPath, [join(REPO_ROOT, 'bench/hop/raw-forwarder.mjs'), URL, input, next, '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
        await waitForLine(child, 'consuming');
        pid = child.pid!;
        stop = async () => {
          child.kill('SIGTERM');
          await new Promise((r) => child.once('exit', r));
        };
      } else {
        const sidecar = await startAsya(['sidecar'], {
          ASYA_TRANSPORT: 'rabbitmq', ASYA_RABBITMQ_URL: URL, ASYA_ACTOR_NAME: actor, ASYA_SOCKET_DIR: runtime.dir,
          ASYA_METRICS_ENABLED: 'false', ASYA_LOG_LEVEL: 'INFO', ASYA_RUNTIME_TIMEOUT: '120s',
          ...(mode === 'offloaded' ? { ASYA_PAYLOAD_STORE: storeDir, ASYA_PAYLOAD_OFFLOAD_BYTES: '512' } : {}),
        }, 'Consuming ');
        pid = sidecar.pid;
        stop = () => sidecar.stop();
      }
      const seconds = await timeHop(actor, output, messages);
      results[mode] = { seconds, rss: rssMiB(pid) };
      await stop();
      await channel.deleteQueue(input);
      await channel.deleteQueue(output);
    }
    const rate = (mode: string) => count / results[mode]!.seconds;
    rows.push({
      payload: size.label,
      messages: count,
      'raw msg/s': rate('raw'),
      'inline msg/s': rate('inline'),
      'offloaded msg/s': rate('offloaded'),
      'inline ÷ raw': rate('inline') / rate('raw'),
      'offloaded ÷ raw': rate('offloaded') / rate('raw'),
      'offloaded ÷ inline': rate('offloaded') / rate('inline'),
      'sidecar RSS MiB (offloaded)': results.offloaded!.rss ?? Number.NaN,
    });
  }
} finally {
  await runtime.stop();
  await connection.close();
  rmSync(storeDir, { recursive: true, force: true });
}
printTable('One hop on RabbitMQ: sidecar + Node runtime echo, inline and offloaded (filesystem store), against raw consume → publish → ack', rows);
