/** The tracing setup's own rules: off unless configured, the standard variables read leniently, ids read without the SDK. */
import { trace } from '@opentelemetry/api';
import { describe, expect, test } from 'vitest';
import { fromEnv } from '../settings/index.ts';
import { TELEMETRY_SETTINGS } from './settings.ts';
import { contextOfHeaders, headersWithSpan, startTracing, traceIdOfHeaders, tracer, tracingOn } from './tracing.ts';

describe('startTracing', () => {
  test('without an endpoint, or with OTEL_SDK_DISABLED, tracing is off and spans record nothing', async () => {
    for (const env of [{}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' }]) {
      const tracing = await startTracing('test', env);
      expect(tracing.enabled).toBe(false);
      expect(tracingOn()).toBe(false);
    }
    const span = tracer().startSpan('nothing');
    expect(span.isRecording()).toBe(false);
    span.end();
  });
});

describe('the OTEL_* settings', () => {
  test('defaults, and resource attributes read as key=value pairs, percent-decoded', () => {
    const read = fromEnv(TELEMETRY_SETTINGS, { OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod, team=ml%20platform', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' });
    expect(read).toMatchObject({ sampler: 'parentbased_always_on', samplerArg: 1, disabled: false, exportDelayMs: 5000, endpoint: 'http://collector:4318' });
    expect(read.resourceAttributes).toEqual({ 'deployment.environment': 'prod', team: 'ml platform' });
  });

  test('a value that cannot be read is warned about and its default used: telemetry never stops a component', () => {
    const warnings: string[] = [];
    const read = fromEnv(TELEMETRY_SETTINGS, { OTEL_TRACES_SAMPLER: 'sometimes', OTEL_TRACES_SAMPLER_ARG: '2', OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, { warn: (m) => warnings.push(m) });
    expect(read).toMatchObject({ sampler: 'parentbased_always_on', samplerArg: 1 });
    expect(read.endpoint).toBeUndefined();
    expect(warnings.join('\n')).toMatch(/OTEL_TRACES_SAMPLER/);
    expect(warnings.join('\n')).toMatch(/OTEL_TRACES_SAMPLER_ARG/);
    expect(warnings.join('\n')).toMatch(/OTEL_EXPORTER_OTLP_ENDPOINT/);
  });
});

describe('trace context in envelope headers', () => {
  test('traceIdOfHeaders reads a valid traceparent and nothing else', () => {
    expect(traceIdOfHeaders({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' })).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    for (const headers of [undefined, null, {}, { traceparent: 't' }, { traceparent: 42 }, { traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' }, { traceparent: '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01' }]) {
      expect(traceIdOfHeaders(headers), JSON.stringify(headers)).toBeUndefined();
    }
  });

  test('with tracing off, headers keep what they carry and no span context is invented', () => {
    const headers = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'x-own': 1 };
    // No propagator is registered while tracing is off: the context has no span, and writing one adds nothing.
    expect(trace.getSpanContext(contextOfHeaders(headers))).toBeUndefined();
    const span = tracer().startSpan('off');
    expect(headersWithSpan(headers, span)).toEqual({ traceparent: headers.traceparent, 'x-own': 1 });
    span.end();
  });
});
