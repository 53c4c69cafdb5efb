/**
 * The standard OpenTelemetry variables Asya reads, declared once: every component's tracing setup
 * (telemetry/tracing.ts) reads them, `asya dev --otlp` and the platform write them, docs/configuration.md
 * shows them. Tracing is off unless an OTLP endpoint is set. Lenient as the SDK itself: a value that cannot be
 * read is warned about and its default used, so a typo in telemetry never stops a component.
 */
import { bool, custom, int, oneOf, settingsTable, string, type Kind } from '../settings/index.ts';

/** A sampling ratio: a number from 0 to 1. */
const ratioKind: Kind<number> = {
  describe: 'number from 0 to 1',
  parse(raw) {
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) throw new Error('expected a number from 0 to 1');
    return value;
  },
  format: (value) => String(value),
};

/** `key=value,key=value`, values percent-encoded (the W3C Baggage syntax the specification prescribes). */
const resourceAttributesKind: Kind<Record<string, string>> = {
  describe: 'key=value,...',
  parse(raw) {
    const attributes: Record<string, string> = {};
    for (const pair of raw.split(',')) {
      if (pair.trim() === '') continue;
      const at = pair.indexOf('=');
      if (at <= 0) throw new Error(`expected key=value pairs separated by commas, got "${pair.trim()}"`);
      attributes[pair.slice(0, at).trim()] = decodeURIComponent(pair.slice(at + 1).trim());
    }
    return attributes;
  },
  format: (value) => Object.entries(value).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join(','),
};

/** An http(s) URL (`collector:4318` parses as a URL with the scheme `collector:`, and is refused); trailing slashes dropped. */
const httpUrlKind: Kind<string> = {
  describe: 'http(s) URL',
  parse(raw) {
    if (!/^https?:\/\//i.test(raw) || !URL.canParse(raw)) throw new Error('expected an http(s) URL such as http://otel-collector:4318');
    return raw.replace(/\/+$/, '');
  },
  format: (value) => value,
};

export const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const;

export const TELEMETRY_SETTINGS = settingsTable('telemetry', {
  endpoint: custom(httpUrlKind, {
    env: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    strictness: 'lenient',
    doc: 'OTLP/HTTP base URL of a collector (`/v1/traces` is appended), e.g. `http://otel-collector:4318`. Set: every component exports spans (OTLP/HTTP, JSON). Unset: tracing is off and the SDK is not loaded',
  }),
  tracesEndpoint: custom(httpUrlKind, { strictness: 'lenient', env: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', doc: 'the full URL for spans, used as is instead of the one above' }),
  serviceName: string({ strictness: 'lenient', env: 'OTEL_SERVICE_NAME', doc: "the spans' `service.name`", defaultDoc: '`asya-gateway`, `asya-sidecar`, `asya-crew`' }),
  resourceAttributes: custom(resourceAttributesKind, { strictness: 'lenient', env: 'OTEL_RESOURCE_ATTRIBUTES', doc: 'more resource attributes, `key=value,...` (e.g. `deployment.environment=prod`)' }),
  sampler: oneOf(SAMPLERS, { strictness: 'lenient', env: 'OTEL_TRACES_SAMPLER', default: 'parentbased_always_on', doc: "which traces are recorded; `parentbased_*` follow the caller's sampled flag" }),
  samplerArg: custom(ratioKind, { strictness: 'lenient', env: 'OTEL_TRACES_SAMPLER_ARG', default: 1, doc: 'the ratio of the `traceidratio` samplers' }),
  disabled: bool({ strictness: 'lenient', env: 'OTEL_SDK_DISABLED', default: false, doc: 'true: no spans even with an endpoint set' }),
  exportDelayMs: int({ strictness: 'lenient', env: 'OTEL_BSP_SCHEDULE_DELAY', default: 5000, min: 0, doc: 'milliseconds between two exports of finished spans' }),
});
