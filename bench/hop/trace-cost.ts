/**
 * What tracing adds to one hop, in process and without a broker, so the machine's load does not drown it:
 * the sidecar's own hop-tracing calls (sidecar/hop-trace.ts: the consumer span with the envelope's id and
 * headers scanned, the runtime-call span with the runtime's headers spliced in, one publish span with the
 * outgoing headers written) around a runtime and a publish that cost nothing, first with tracing off, then
 * with the SDK on and exporting every span over OTLP/HTTP to a receiver in a process of its own, as a
 * collector would be (bench/otlp-counter.mjs). Reports this process's CPU µs per hop: the SDK's span work,
 * batching and serialising included.
 *
 *   npx tsx bench/hop/trace-cost.ts [hops] [payload bytes, default 1024] [string|objects, default string]
 *
 * The payload is one long string, or as many small objects as fill the size (numbers, a short string, a
 * boolean each), the slowest shape to scan.
 */
import { startHopTrace, tracedPublish, tracedRuntimeCall, type HopTrace } from '../../sidecar/hop-trace.ts';
import { startTracing, tracingOn } from '../../telemetry/index.ts';
import type { JsonValue, RuntimeResult } from '../../protocol/index.ts';
import { countingOtlpReceiver, printTable } from '../support.ts';

const HOPS = Number(process.argv[2] ?? 20_000);
const PAYLOAD_BYTES = Number(process.argv[3] ?? 1024);
const SHAPE = process.argv[4] ?? 'string';
if (SHAPE !== 'string' && SHAPE !== 'objects') throw new Error(`payload shape: string or objects, got ${SHAPE}`);
/** About 52 bytes of JSON each. */
const item = (i: number) => ({ i, score: i * 0.5, label: `item-${i}`, ok: true });
const envelope = {
  id: 'c0ffee00-0000-4000-8000-000000000000',
  route: { actors: ['a', 'b'], current: 0 },
  headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
  payload: (SHAPE === 'string' ? { pad: 'x'.repeat(PAYLOAD_BYTES) } : { items: Array.from({ length: Math.max(1, Math.round(PAYLOAD_BYTES / 52)) }, (_, i) => item(i)) }) as JsonValue,
};
const delivery = { queue: 'asya-a', body: Buffer.from(JSON.stringify(envelope)), deliveryCount: 1 };
const results: RuntimeResult[] = [{ payload: envelope.payload, route: { actors: ['a', 'b'], current: 1 } }];

const receiver = await countingOtlpReceiver();

/** One hop as the router does it: tracing helpers only when the hop is traced, the plain calls otherwise. */
async function hop(): Promise<void> {
  const traced: HopTrace | undefined = tracingOn() ? startHopTrace(delivery, { actor: 'a', transportKind: 'rabbitmq' }) : undefined;
  try {
    const call = async (body: Buffer) => (body.length > 0 ? results : []);
    const got = traced ? await tracedRuntimeCall(traced, 'a', delivery.body, call) : await call(delivery.body);
    const out = { id: envelope.id, route: got[0] && 'route' in got[0] ? got[0].route : envelope.route, headers: envelope.headers, payload: envelope.payload };
    const send = async (e: object) => void Buffer.from(JSON.stringify(e));
    if (traced) await tracedPublish(traced, { queue: 'asya-b', envelope: out }, { transportKind: 'rabbitmq', actor: 'a', retry: false }, send);
    else await send(out);
  } finally {
    traced?.span.end();
  }
}

/** Exports what has ended every 500 hops (the batch processor's batch), so no span is dropped and all are paid for. */
async function run(hops: number, flush: () => Promise<void>): Promise<void> {
  for (let i = 1; i <= hops; i++) {
    await hop();
    if (i % 500 === 0) await flush();
  }
  await flush();
}

async function measure(flush: () => Promise<void>): Promise<number> {
  await run(2000, flush); // warm-up
  const before = process.cpuUsage();
  await run(HOPS, flush);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / HOPS;
}

const off = await measure(async () => {});
const tracing = await startTracing('bench', { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
const spansBefore = await receiver.spans();
const on = await measure(() => tracing.flush());
await tracing.shutdown();
const exported = (await receiver.spans()) - spansBefore;
receiver.close();
printTable(`Tracing's cost per hop, in process (${HOPS} hops, a ${delivery.body.length}-byte envelope (payload: ${SHAPE}), three spans per hop exported over OTLP/HTTP JSON)`, [
  { tracing: 'off', 'CPU µs per hop': off.toFixed(1), 'added µs': '–', 'spans exported': '' },
  { tracing: 'on', 'CPU µs per hop': on.toFixed(1), 'added µs': (on - off).toFixed(1), 'spans exported': `${exported} of ${3 * (HOPS + 2000)}` },
]);
