/**
 * What the runtime gets on a traced hop: the envelope it would get untraced, with `headers` naming the
 * runtime-call span, whatever the body's layout (compact or pretty JSON, no headers, tracestate, strings
 * that look like headers, a payload resolved by the claim check). The headers are spliced into the bytes,
 * so this compares the parsed result against the envelope with its headers written the slow way.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLogger, parseTraceparent, type RuntimeResult } from '../protocol/index.ts';
import { startTracing, type Tracing } from '../telemetry/index.ts';
import { startOtlpReceiver, type OtlpReceiver } from '../test/support/otlp-receiver.ts';
import { hopLogger, startHopTrace, tracedRuntimeCall } from './hop-trace.ts';

const PARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const PARENT_IDS = parseTraceparent(PARENT)!;

let receiver: OtlpReceiver;
let tracing: Tracing;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  tracing = await startTracing('hop-trace-test', { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
  expect(tracing.enabled).toBe(true);
});

afterAll(async () => {
  await tracing?.shutdown();
  await receiver?.close();
});

/**
 * Calls the runtime through tracedRuntimeCall inside a hop span, and answers what the runtime was sent. As in
 * the router, a body that is one Buffer is the delivery's own (whose scan the hop span made is reused).
 */
async function sentToRuntime(body: Buffer | Buffer[], envelopeText: string): Promise<Buffer> {
  let sent: Buffer | undefined;
  const call = async (given: Buffer | Buffer[]): Promise<RuntimeResult[]> => {
    sent = Buffer.isBuffer(given) ? given : Buffer.concat(given);
    return [];
  };
  const hop = startHopTrace({ queue: 'asya-a', body: Buffer.isBuffer(body) ? body : Buffer.from(envelopeText), deliveryCount: 1 }, { actor: 'a', transportKind: 'rabbitmq' })!;
  try {
    await tracedRuntimeCall(hop, 'a', body, call);
  } finally {
    hop.span.end();
  }
  return sent!;
}

/** The runtime span's traceparent: in the parent's trace, a new span, exported as `runtime a`. */
async function expectRuntimeSpan(traceparent: unknown, parentTraceId = PARENT_IDS.traceId): Promise<void> {
  const ids = parseTraceparent(traceparent);
  expect(ids?.traceId).toBe(parentTraceId);
  expect(ids?.spanId).not.toBe(PARENT_IDS.spanId);
  await tracing.flush();
  expect(receiver.spans.filter((s) => s.spanId === ids!.spanId).map((s) => s.name)).toEqual(['runtime a']);
}

const envelopes: Record<string, string> = {
  compact: JSON.stringify({ id: 'e1', route: { actors: ['a'], current: 0 }, headers: { traceparent: PARENT, 'x-own': [1, { two: 2 }] }, payload: { text: 'a "headers": {"traceparent": "x"} \\" }', n: [1, 2, { headers: 3 }] } }),
  pretty: JSON.stringify({ payload: { headers: { traceparent: 'not this one' } }, headers: { traceparent: PARENT, tracestate: 'vendor=1' }, id: 'e2', route: { actors: ['a'], current: 0 } }, null, 2),
  'no headers': JSON.stringify({ id: 'e3', route: { actors: ['a'], current: 0 }, payload: 'plain' }),
  'headers not an object': JSON.stringify({ id: 'e4', route: { actors: ['a'], current: 0 }, headers: 'odd', payload: null }),
  'unicode and escapes': JSON.stringify({ id: 'e5', route: { actors: ['a'], current: 0 }, payload: { s: 'ü → 😀 \n \\ "}' }, headers: { traceparent: PARENT, 'ké': 'vé' } }),
};

describe('the runtime gets the envelope with the runtime span as its traceparent', () => {
  test.each(Object.keys(envelopes))('%s', async (name) => {
    const text = envelopes[name]!;
    const sent = JSON.parse((await sentToRuntime(Buffer.from(text), text)).toString('utf8')) as { headers: Record<string, unknown> };
    const original = JSON.parse(text) as Record<string, unknown>;
    const headers = typeof original.headers === 'object' && original.headers !== null ? (original.headers as Record<string, unknown>) : {};
    const { tracestate: _dropped, ...kept } = headers;
    // Everything as it was, but the trace headers: the new traceparent, and the parent's tracestate carried on.
    expect(sent).toEqual({ ...original, headers: { ...kept, traceparent: sent.headers.traceparent, ...(headers.tracestate ? { tracestate: headers.tracestate } : {}) } });
    if (headers.traceparent === PARENT) await expectRuntimeSpan(sent.headers.traceparent);
    else expect(parseTraceparent(sent.headers.traceparent)).toBeDefined();
  });

  test('a payload the claim check resolved is spliced around, not copied into the headers work', async () => {
    const rest = { id: 'e6', route: { actors: ['a'], current: 0 }, headers: { traceparent: PARENT } };
    const payload = Buffer.from(JSON.stringify({ big: 'x'.repeat(10_000), headers: { traceparent: 'inside the payload' } }));
    // The claim check's layout (sidecar/claim-check.ts): the payload's bytes between the envelope's other members.
    const parts = [Buffer.from('{"payload":'), payload, Buffer.from(`,${JSON.stringify(rest).slice(1)}`)];
    const sent = JSON.parse((await sentToRuntime(parts, JSON.stringify({ ...rest, payload: { $ref: 'x' } }))).toString('utf8')) as typeof rest & { payload: unknown };
    expect(sent).toEqual({ ...rest, payload: JSON.parse(payload.toString('utf8')) as unknown, headers: { traceparent: sent.headers.traceparent } });
    await expectRuntimeSpan(sent.headers.traceparent);
  });

  test('a body that is not a JSON object goes as it came', async () => {
    for (const text of ['[1,2]', '{"id": "e7", "headers": ', 'not json']) {
      expect((await sentToRuntime(Buffer.from(text), text)).toString('utf8')).toBe(text);
    }
  });
});

describe('the hop span', () => {
  const delivery = (traceparent: string) => ({ queue: 'asya-a', body: Buffer.from(JSON.stringify({ id: 'e8', route: { actors: ['a'], current: 0 }, headers: { traceparent }, payload: {} })), deliveryCount: 1 });

  test("is the parent's child, and the hop's log lines carry its ids though it is never made active", async () => {
    const hop = startHopTrace(delivery(PARENT), { actor: 'a', transportKind: 'rabbitmq' })!;
    const lines: string[] = [];
    hopLogger(createLogger('DEBUG', 'asya.sidecar', { format: 'json', write: (l) => lines.push(l) }), hop).warn('in the hop', { envelope_id: 'e8' });
    hop.span.end();
    const { traceId, spanId } = hop.span.spanContext();
    expect(traceId).toBe(PARENT_IDS.traceId);
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual([expect.objectContaining({ message: 'in the hop', envelope_id: 'e8', trace_id: traceId, span_id: spanId })]);
    await tracing.flush();
    expect(receiver.spans.find((s) => s.spanId === spanId)).toMatchObject({ name: 'process asya-a', parentSpanId: PARENT_IDS.spanId });
  });

  test('is not started under an unsampled parent while the sampler follows the caller (the default)', async () => {
    const unsampled = PARENT.replace(/-01$/, '-00');
    expect(startHopTrace(delivery(unsampled), { actor: 'a', transportKind: 'rabbitmq' })).toBeUndefined();
    // A parent that is sampled, or none at all, still gets its span.
    for (const body of [delivery(PARENT).body, Buffer.from('{"id":"e9"}')]) {
      const hop = startHopTrace({ ...delivery(PARENT), body }, { actor: 'a', transportKind: 'rabbitmq' });
      expect(hop?.span.isRecording()).toBe(true);
      hop?.span.end();
    }
  });
});
