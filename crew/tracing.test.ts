/**
 * The crew's spans, handed to the handler's work rather than made active: error-end's span under the end
 * sidecar's runtime call (the envelope's traceparent), with what it decided, a retry or a dead letter.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startTracing, type Tracing } from '../telemetry/index.ts';
import { startOtlpReceiver, type OtlpReceiver } from '../test/support/otlp-receiver.ts';
import { deadLettered, traceCrewCall } from './tracing.ts';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_SPAN = '00f067aa0ba902b7';

let receiver: OtlpReceiver;
let tracing: Tracing;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  tracing = await startTracing('crew-tracing-test', { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
});

afterAll(async () => {
  await tracing?.shutdown();
  await receiver?.close();
});

const envelope = (id: string) => ({ id, route: { actors: ['a'], current: 0 }, headers: { traceparent: `00-${TRACE_ID}-${PARENT_SPAN}-01` }, payload: {} });

test('a dead letter marks the crew span failed, with the code and the attempts', async () => {
  await traceCrewCall('error-end', envelope('dead'), async (span) => {
    deadLettered(span, 'timeout', 'took too long', 3);
    return { payload: { dead_lettered: true } };
  });
  await traceCrewCall('error-end', envelope('retried'), async () => ({ payload: { retrying: { actor: 'a', attempt: 1, delay_ms: 250 } } }));
  await tracing.flush();
  const [dead, retried] = ['dead', 'retried'].map((id) => receiver.spans.find((s) => s.attributes['asya.envelope.id'] === id));
  expect(dead).toMatchObject({ name: 'error-end', traceId: TRACE_ID, parentSpanId: PARENT_SPAN, statusCode: 2, attributes: { 'asya.attempts': 3, 'error.type': 'timeout' } });
  expect(retried).toMatchObject({ name: 'error-end', parentSpanId: PARENT_SPAN, attributes: { 'asya.retry.actor': 'a', 'asya.retry.attempt': 1, 'asya.retry.delay_ms': 250 } });
  expect(retried?.statusCode).not.toBe(2);
});

test('while tracing is off the work gets no span, and a dead letter records nothing', async () => {
  await tracing.shutdown();
  let given: unknown = 'unset';
  await traceCrewCall('error-end', envelope('off'), async (span) => {
    given = span;
    deadLettered(span, 'timeout', 'x', 1);
    return { payload: {} };
  });
  expect(given).toBeUndefined();
});
