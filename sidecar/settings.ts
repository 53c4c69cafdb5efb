/**
 * The sidecar's settings (the original's names, plus ours), declared once: sidecar/config.ts
 * reads them, inject-sidecar and `asya dev` write them, docs/configuration.md shows them.
 */
import { z } from 'zod';
import { retrySchema } from '../api/asyncactor.ts';
import { CREW_CONCURRENCY, isValidActorName } from '../protocol/index.ts';
import { DLQ_QUEUE_NAME, ERROR_END_ACTOR, GATEWAY_TOKEN, GATEWAY_URL, HAPPY_END_ACTOR, LOG_FORMAT, LOG_LEVEL, MAX_FRAME_BYTES, METRICS_ADDR, METRICS_NAMESPACE, PAYLOAD_STORE_SETTINGS, QUEUE_AUTO_CREATE, QUEUE_DLQ_RETENTION_DAYS, QUEUE_MAX_DELIVERIES_SETTING, RUNTIME_TIMEOUT, SOCKET_DIR } from '../protocol/settings.ts';
import { bool, custom, describedAs, duration, int, json, literalBool, settingsTable, string, stringKind, type Kind } from '../settings/index.ts';

const actorNameKind: Kind<string> = {
  ...stringKind,
  describe: 'actor name',
  parse(raw) {
    if (!isValidActorName(raw)) throw new Error("not a valid actor name (lowercase letters, digits and '-', at most 63)");
    return raw;
  },
};

const customMetricsSchema = z.array(
  z
    .object({
      name: z.string(),
      type: z.enum(['counter', 'gauge', 'histogram']),
      help: z.string().optional(),
      labels: z.array(z.string()).optional(),
      buckets: z.array(z.number()).optional(),
    })
    .transform((m) => ({ name: m.name, type: m.type, help: m.help ?? m.name, labels: m.labels ?? [], buckets: m.buckets })),
);
export type CustomMetric = z.output<typeof customMetricsSchema>[number];

export const SIDECAR_SETTINGS = settingsTable(
  'sidecar',
  {
    actorName: custom(actorNameKind, {
      env: 'ASYA_ACTOR_NAME',
      doc: 'the actor; the sidecar consumes `asya-<name>`. Lowercase letters, digits and `-`, at most 63',
      required: 'the actor whose queue (asya-<name>) this sidecar consumes',
    }),
    happyEnd: HAPPY_END_ACTOR,
    errorEnd: ERROR_END_ACTOR,
    isEndActor: bool({
      env: 'ASYA_IS_END_ACTOR',
      doc: 'end-actor mode: report the final status instead of routing',
      defaultDoc: '`true` for the two end actors, else `false`',
    }),
    runtimeTimeoutMs: RUNTIME_TIMEOUT,
    gatewayUrl: GATEWAY_URL,
    gatewayToken: GATEWAY_TOKEN,
    retryPolicy: json(retrySchema, 'spec.retry: {maxAttempts, initialDelaySeconds, multiplier, maxDelaySeconds, jitter, nonRetryableErrors}', {
      env: 'ASYA_RETRY_POLICY',
      doc: "the actor's `spec.retry` as JSON, checked against the schema. Attached to its error envelopes (header `x-asya-retry-policy`) so error-end retries by this actor's rules. Unset: error-end's defaults",
    }),
    socketDir: describedAs(SOCKET_DIR, { doc: "where the runtime's socket and ready file are" }),
    runtimeKeepAlive: bool({
      env: 'ASYA_RUNTIME_KEEP_ALIVE',
      doc: 'reuse runtime connections when the runtime announces keep-alive in its ready file (both of ours do; the original does not, and always gets one connection per request). `false`: one connection per request',
      default: true,
    }),
    runtimeReadyTimeoutMs: duration({ env: 'ASYA_RUNTIME_READY_TIMEOUT', doc: "how long to wait at startup for the runtime's ready file", default: '5m' }),
    concurrency: int({
      env: 'ASYA_CONCURRENCY',
      doc: 'messages handled at once; a message whose results wait for the broker to confirm them no longer counts (up to as many again may be finishing so), and on RabbitMQ the prefetch is one more, so the next message is already at hand when one finishes. With the Python runtime, set `ASYA_RUNTIME_WORKERS` to the same number',
      default: 1,
      defaultDoc: `\`1\`; \`${CREW_CONCURRENCY}\` for the crew (\`asya crew\`, \`asya dev\`, \`asya synth\`)`,
      min: 1,
    }),
    queueAutoCreate: QUEUE_AUTO_CREATE,
    queueMaxDeliveries: QUEUE_MAX_DELIVERIES_SETTING,
    queueDlqRetentionDays: QUEUE_DLQ_RETENTION_DAYS,
    exitWhenIdleMs: duration({
      env: 'ASYA_EXIT_WHEN_IDLE',
      doc: 'drain and exit 0 once no message has come for this long and none is in flight. `inject-sidecar` sets `30s` for the `Job` workload kind, so the Job completes',
      defaultDoc: 'unset (run until stopped)',
    }),
    maxFrameBytes: describedAs(MAX_FRAME_BYTES, { doc: 'largest runtime answer accepted' }),
    metricsEnabled: bool({ env: 'ASYA_METRICS_ENABLED', doc: 'serve `/metrics`, `/health` (`/healthz`) and `/ready` (`/readyz`)', default: true }),
    metricsAddr: METRICS_ADDR,
    metricsNamespace: METRICS_NAMESPACE,
    customMetrics: json(customMetricsSchema, 'a JSON array of {name, type, help, labels?, buckets?}', {
      env: 'ASYA_CUSTOM_METRICS',
      doc: 'JSON array of `{name, type: counter|gauge|histogram, help, labels?, buckets?}`, registered unprefixed as in the original. Nothing in Asya updates them (nor did anything in the original)',
      default: [],
      defaultDoc: '–',
    }),
    logLevel: describedAs(LOG_LEVEL, { doc: 'as for the runtime' }),
    logFormat: LOG_FORMAT,
    maxRuntimeRetries: int({
      env: 'ASYA_RUNTIME_MAX_RETRIES',
      doc: 'deliveries of one message whose runtime connection breaks mid-request (or whose body cannot be handled for a transient reason): it is requeued until this delivery, then goes to error-end as `connection_error`',
      default: 3,
      min: 1,
    }),
    dlqQueue: describedAs(DLQ_QUEUE_NAME, { doc: "the error-end sidecar creates this queue for the crew's dead letters" }),
    ...PAYLOAD_STORE_SETTINGS,
  },
  [{ env: 'ASYA_SOCKET_PATH', action: 'warn', reason: 'the socket is always `asya-runtime.sock` in `ASYA_SOCKET_DIR`' }],
);
