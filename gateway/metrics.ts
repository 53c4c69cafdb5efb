/**
 * Prometheus metrics on a registry of the gateway's own, so two gateways in one process (tests, `asya dev`)
 * never collide on the global registry. Those counted on every request or report are tallies
 * (telemetry/tallies.ts): `.labels({...}).inc()` instead of prom-client's `.inc({...})`.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { addProcessMetrics } from '../telemetry/process-metrics.ts';
import { TallyCounter, TallyHistogram } from '../telemetry/tallies.ts';

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly httpRequests = new TallyCounter({
    name: 'asya_gateway_http_requests_total',
    help: 'HTTP requests by route, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new TallyHistogram({
    name: 'asya_gateway_http_request_duration_seconds',
    help: 'Time to the response headers (for SSE, to the start of the stream).',
    labelNames: ['route', 'method'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly toolCalls = new TallyCounter({
    name: 'asya_gateway_tool_calls_total',
    help: 'Tool calls by tool, entry point (mcp or rest) and outcome.',
    labelNames: ['tool', 'via', 'outcome'] as const,
    registers: [this.registry],
  });
  /**
   * Final reports by what they did: `applied` recorded the final state, `deferred` recorded a fan-out
   * parent's own branch, `ignored` found the envelope already final. Under at-least-once delivery a report
   * can legitimately arrive twice (a redelivered message, a retried POST whose answer was lost); such a
   * duplicate is `ignored` and changes nothing, so `applied` is the count of final states.
   */
  readonly finalReports = new TallyCounter({
    name: 'asya_gateway_final_reports_total',
    help: 'Final status reports by outcome: applied (the final state), deferred (a fan-out parent waits for its children), ignored (already final: a duplicate report).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly publishFailures = new Counter({
    name: 'asya_gateway_publish_failures_total',
    help: 'Envelopes the transport refused; each one was marked failed.',
    registers: [this.registry],
  });
  readonly outboxPublished = new Counter({
    name: 'asya_gateway_outbox_published_total',
    help: 'Envelopes this replica published from the outbox: their first publish was not confirmed in time (crash, broker away).',
    registers: [this.registry],
  });
  readonly sseStreams = new Gauge({
    name: 'asya_gateway_sse_streams',
    help: 'Open SSE streams on this replica.',
    registers: [this.registry],
  });
  readonly overdueFailed = new Counter({
    name: 'asya_gateway_overdue_failed_total',
    help: 'Envelopes this replica failed because their deadline passed.',
    registers: [this.registry],
  });
  readonly retentionDeleted = new Counter({
    name: 'asya_gateway_retention_deleted_total',
    help: 'Final envelopes this replica deleted past retention.',
    registers: [this.registry],
  });
  readonly bodiesRefused = new Counter({
    name: 'asya_gateway_request_bodies_refused_total',
    help: 'Request bodies refused: too_large (over ASYA_GATEWAY_MAX_BODY_BYTES) or budget (503, too many bytes in flight).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly bodyBytesInFlight = new Gauge({
    name: 'asya_gateway_request_body_bytes_in_flight',
    help: 'Bytes of request bodies being read or handled, counted against ASYA_GATEWAY_BODY_BUDGET_BYTES.',
    registers: [this.registry],
  });
  readonly storeUp = new Gauge({
    name: 'asya_gateway_store_up',
    help: '1 when the last readiness probe reached the envelope store.',
    registers: [this.registry],
  });

  /** With Node's process metrics (telemetry/process-metrics.ts) unless a test leaves them out. */
  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) addProcessMetrics(this.registry);
  }
}
