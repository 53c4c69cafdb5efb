/**
 * Tracing for every component: `startTracing` registers the OpenTelemetry SDK globally when an OTLP endpoint
 * is configured (telemetry/settings.ts), and does nothing else otherwise. Only `@opentelemetry/api` is loaded
 * up front (a few kilobytes, no-op without a provider); the SDK and the exporter are imported on demand, so
 * a component with tracing off pays one boolean check per hop.
 *
 * The envelope's `headers.traceparent` is the carrier between processes (W3C Trace Context): it names the
 * span of the step that sent the envelope, the gateway's tool call or a sidecar's hop, so the next hop is
 * that span's child.
 */
import { context, isSpanContextValid, propagation, trace, SpanStatusCode, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { fromEnv } from '../settings/index.ts';
import { TELEMETRY_SETTINGS } from './settings.ts';

type Env = Record<string, string | undefined>;

export interface Tracing {
  readonly enabled: boolean;
  /** The sampler follows the caller's sampled flag (`parentbased_*`): an unsampled parent records nothing below it. */
  readonly followsParent: boolean;
  /** Exports what has ended so far. */
  flush(): Promise<void>;
  /** Exports what is left and stops; later spans are dropped. */
  shutdown(): Promise<void>;
}

const OFF: Tracing = { enabled: false, followsParent: false, flush: async () => {}, shutdown: async () => {} };

let running: Tracing = OFF;

/** True while a component of this process has tracing on: the hot paths ask this before doing any work. */
export function tracingOn(): boolean {
  return running.enabled;
}

/** True when the sampler follows the caller's sampled flag: nothing under an unsampled parent is recorded. */
export function tracingFollowsParent(): boolean {
  return running.followsParent;
}

let cachedTracer: Tracer | undefined;

/**
 * The tracer all of Asya's spans come from (a no-op one while tracing is off). Kept once tracing starts:
 * the provider's lookup builds a key string per call, and a hop asks three times.
 */
export function tracer(): Tracer {
  return cachedTracer ?? trace.getTracer('asya');
}

/**
 * Starts tracing for this process when the environment configures it; once per process (components that
 * share a process, as in `asya dev`, share one provider: the first to start names the service).
 */
export async function startTracing(component: string, env: Env = process.env, warn?: (message: string) => void): Promise<Tracing> {
  if (running.enabled) return running;
  const settings = fromEnv(TELEMETRY_SETTINGS, env, warn ? { warn } : {});
  const url = settings.tracesEndpoint ?? (settings.endpoint ? `${settings.endpoint}/v1/traces` : undefined);
  if (!url || settings.disabled) return OFF;
  const [sdk, { OTLPTraceExporter }, core, resources] = await Promise.all([
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/core'),
    import('@opentelemetry/resources'),
  ]);
  const ratio = new sdk.TraceIdRatioBasedSampler(settings.samplerArg);
  const root = { always_on: new sdk.AlwaysOnSampler(), always_off: new sdk.AlwaysOffSampler(), traceidratio: ratio };
  const kind = settings.sampler.replace('parentbased_', '') as keyof typeof root;
  const sampler = settings.sampler.startsWith('parentbased_') ? new sdk.ParentBasedSampler({ root: root[kind] }) : root[kind];
  const provider = new sdk.TracerProvider({
    sampler,
    resource: resources.resourceFromAttributes({ ...settings.resourceAttributes, 'service.name': settings.serviceName ?? `asya-${component}` }),
    spanProcessors: [new sdk.BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url }), scheduledDelayMillis: settings.exportDelayMs })],
  });
  // No context manager: spans are handed along explicitly and never made active. Node's async context
  // tracking, once switched on (the batch processor's first export would do it), costs every promise of the
  // process, which was about a third of what tracing added to a hop (docs/performance.md).
  propagation.setGlobalPropagator(new core.CompositePropagator({ propagators: [new core.W3CTraceContextPropagator(), new core.W3CBaggagePropagator()] }));
  trace.setGlobalTracerProvider(provider);
  cachedTracer = provider.getTracer('asya');
  running = {
    enabled: true,
    followsParent: settings.sampler.startsWith('parentbased_'),
    flush: () => provider.forceFlush(),
    shutdown: async () => {
      running = OFF;
      cachedTracer = undefined;
      await provider.shutdown();
    },
  };
  return running;
}

type Headers = Record<string, unknown>;

const headerGetter = {
  keys: (carrier: Headers) => Object.keys(carrier),
  get: (carrier: Headers, key: string) => (typeof carrier[key] === 'string' ? carrier[key] : undefined),
};

/** The context an envelope's headers carry (its traceparent and tracestate); the root context without them. */
export function contextOfHeaders(headers: unknown): Context {
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) return context.active();
  return propagation.extract(context.active(), headers as Headers, headerGetter);
}

/**
 * `headers` with traceparent (and tracestate) naming `span`; everything else in them is kept, `baggage`
 * included, which is how baggage travels on. Written directly in the W3C format rather than through the
 * propagator: it runs for every runtime call and every publish, and the propagator's context and composite
 * walk cost more than the header itself. A span without a valid context (tracing off) writes nothing.
 */
export function headersWithSpan(headers: unknown, span: Span): Headers {
  const out: Headers = typeof headers === 'object' && headers !== null && !Array.isArray(headers) ? { ...(headers as Headers) } : {};
  delete out.tracestate;
  const spanContext = span.spanContext();
  if (!isSpanContextValid(spanContext)) return out;
  out.traceparent = `00-${spanContext.traceId}-${spanContext.spanId}-${(spanContext.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
  const state = spanContext.traceState?.serialize();
  if (state) out.tracestate = state;
  return out;
}

/** The 32-hex trace id of a W3C traceparent header value, read without the SDK (dead-letter records carry it). */
export function traceIdOfHeaders(headers: unknown): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  const value = (headers as Headers).traceparent;
  const match = typeof value === 'string' ? /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(value.trim()) : null;
  return match && !/^0+$/.test(match[1]!) ? match[1] : undefined;
}

/** Marks a span failed: error status, `error.type`, and an exception event carrying the error code. */
export function failSpan(span: Span, code: string, message: string): void {
  span.setAttribute('error.type', code);
  span.addEvent('exception', { 'exception.type': code, 'exception.message': message });
  span.setStatus({ code: SpanStatusCode.ERROR, message: `${code}: ${message}` });
}
