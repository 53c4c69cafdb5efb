/**
 * Prometheus metrics with the original's names (docs/operations.md, "Metrics"). Fixed on purpose: every queue label holds
 * the queue name (`asya-<actor>`), where the original mixed `happy-end` and `asya-happy-end`;
 * runtime_errors_total says what failed (timeout, unavailable, connection_lost, invalid_response); active_messages
 * carries the queue too (the original's had no label, so its series could not be told apart by actor).
 * Custom metrics from ASYA_CUSTOM_METRICS are registered, unprefixed, as in the original. Node's process
 * metrics (`process_*`, `nodejs_*`) are unprefixed too, whatever ASYA_METRICS_NAMESPACE says. The sidecar's own are
 * tallies (telemetry/tallies.ts): on the per-message path, counting is an addition.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { queueName } from '../protocol/index.ts';
import { addProcessMetrics } from '../telemetry/process-metrics.ts';
import { TallyCounter, TallyGauge, TallyHistogram, type CounterTally, type HistogramTally } from '../telemetry/tallies.ts';
import type { SidecarConfig } from './config.ts';

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const SEND_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5];
// 64 KiB and 256 KiB (SQS's limit) show how close messages come to the brokers' limits, and whether the
// claim check keeps them small (docs/payloads.md).
const SIZE_BUCKETS = [100, 1_000, 10_000, 65_536, 100_000, 262_144, 1_000_000, 10_000_000, 100_000_000];

export interface SidecarMetrics {
  readonly registry: Registry;
  received(bytes: number): void;
  processed(status: 'success' | 'empty_response', ms: number): void;
  processedEnd(): void;
  failed(reason: string): void;
  sent(queue: string, kind: string, bytes: number, ms: number): void;
  runtimeDuration(ms: number): void;
  runtimeError(kind: string): void;
  /** An end actor's final report met an unavailable gateway; the delivery is held, not requeued. */
  gatewayUnavailable(): void;
  /** A held delivery was given back to its queue as a fresh copy (hold over, or drain). */
  givenBack(): void;
  active(delta: 1 | -1): void;
}

export function createMetrics(config: Pick<SidecarConfig, 'actorName' | 'metricsNamespace' | 'customMetrics' | 'metricsEnabled'>, transport: string): SidecarMetrics {
  const registry = new Registry();
  // Only where /metrics is served: collecting them keeps an event-loop monitor and a GC observer running.
  if (config.metricsEnabled) addProcessMetrics(registry);
  const ns = config.metricsNamespace ? `${config.metricsNamespace}_` : '';
  const queue = queueName(config.actorName);
  const opts = <L extends string>(name: string, help: string, labelNames: readonly L[]) => ({ name: `${ns}${name}`, help, labelNames, registers: [registry] });
  const receivedTotal = new TallyCounter(opts('messages_received_total', 'Messages received', ['queue', 'transport']));
  const processedTotal = new TallyCounter(opts('messages_processed_total', 'Messages processed', ['queue', 'status']));
  const sentTotal = new TallyCounter(opts('messages_sent_total', 'Messages sent', ['destination_queue', 'message_type']));
  const failedTotal = new TallyCounter(opts('messages_failed_total', 'Messages failed', ['queue', 'reason']));
  const processing = new TallyHistogram({ ...opts('processing_duration_seconds', 'Total processing time', ['queue']), buckets: DURATION_BUCKETS });
  const runtimeExec = new TallyHistogram({ ...opts('runtime_execution_duration_seconds', 'Runtime call time', ['queue']), buckets: DURATION_BUCKETS });
  const sendDuration = new TallyHistogram({ ...opts('queue_send_duration_seconds', 'Publish time until confirmed', ['destination_queue', 'transport']), buckets: SEND_BUCKETS });
  const size = new TallyHistogram({ ...opts('envelope_size_bytes', 'Envelope size', ['direction']), buckets: SIZE_BUCKETS });
  const active = new TallyGauge(opts('active_messages', 'Messages being processed', ['queue']));
  const runtimeErrors = new TallyCounter(opts('runtime_errors_total', 'Runtime call failures', ['queue', 'error_type']));
  const gatewayUnavailable = new TallyCounter(opts('gateway_unavailable_total', 'Final reports that met an unavailable gateway (held, not requeued)', ['queue']));
  const givenBack = new TallyCounter(opts('messages_given_back_total', 'Held deliveries returned to their queue as fresh copies', ['queue']));
  // Present from the start, so Prometheus (and the console's actors page) sees an actor that has handled
  // nothing yet as at zero rather than absent.
  const activeHere = active.labels({ queue });
  const processingHere = processing.labels({ queue });
  // The label sets every message uses, resolved at their first use (so they appear then, as before) and kept.
  let receivedHere: CounterTally | undefined;
  let receivedSize: HistogramTally | undefined;
  let sentSize: HistogramTally | undefined;
  let runtimeExecHere: HistogramTally | undefined;
  for (const m of config.customMetrics) {
    const name = m.name.replace(/[^a-zA-Z0-9_:]/g, '_').replace(/^(\d)/, '_$1');
    const options = { name, help: m.help, labelNames: m.labels ?? [], registers: [registry] };
    if (m.type === 'counter') new Counter(options);
    else if (m.type === 'gauge') new Gauge(options);
    else new Histogram({ ...options, ...(m.buckets ? { buckets: m.buckets } : {}) });
  }
  return {
    registry,
    received(bytes) {
      (receivedHere ??= receivedTotal.labels({ queue, transport })).inc();
      (receivedSize ??= size.labels({ direction: 'received' })).observe(bytes);
    },
    processed(status, ms) {
      processedTotal.labels({ queue, status }).inc();
      processingHere.observe(ms / 1000);
    },
    processedEnd() {
      processedTotal.labels({ queue, status: 'end_consumed' }).inc();
    },
    failed(reason) {
      failedTotal.labels({ queue, reason }).inc();
    },
    sent(destination, kind, bytes, ms) {
      sentTotal.labels({ destination_queue: destination, message_type: kind }).inc();
      sendDuration.labels({ destination_queue: destination, transport }).observe(ms / 1000);
      (sentSize ??= size.labels({ direction: 'sent' })).observe(bytes);
    },
    runtimeDuration(ms) {
      (runtimeExecHere ??= runtimeExec.labels({ queue })).observe(ms / 1000);
    },
    runtimeError(kind) {
      runtimeErrors.labels({ queue, error_type: kind }).inc();
    },
    gatewayUnavailable() {
      gatewayUnavailable.labels({ queue }).inc();
    },
    givenBack() {
      givenBack.labels({ queue }).inc();
    },
    active(delta) {
      activeHere.inc(delta);
    },
  };
}
