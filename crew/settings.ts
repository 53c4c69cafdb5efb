/**
 * The crew's settings (the original's S3 names, plus ours), declared once: crew/config.ts
 * and crew/storage.ts read them, the crew chart writes them, docs/configuration.md shows them. The crew's
 * sidecar half reads the sidecar's table.
 */
import { retrySchema } from '../api/asyncactor.ts';
import { describedAs, duration, json, oneOf, settingsTable, string, url } from '../settings/index.ts';
import { FAN_IN_POLICIES } from '../protocol/fan-in.ts';
import { DLQ_QUEUE_NAME, ENABLE_VALIDATION, ERROR_END_ACTOR, GATEWAY_TOKEN, GATEWAY_URL, HANDLER_MODE, HAPPY_END_ACTOR, LOG_FORMAT, LOG_LEVEL, RUNTIME_TIMEOUT } from '../protocol/settings.ts';
import { DEFAULT_RETRY_POLICY } from './retry-policy.ts';

export const CREW_SETTINGS = settingsTable('crew', {
  s3Bucket: string({ env: 'ASYA_S3_BUCKET', doc: 'store results and errors in this bucket (created if missing). Unset: in a directory' }),
  resultsDir: string({ env: 'ASYA_RESULTS_DIR', doc: 'that directory', default: '.data/results', defaultDoc: '`.data/results` (from the working directory)' }),
  s3Endpoint: url({ env: 'ASYA_S3_ENDPOINT', doc: 'MinIO, moto, LocalStack; path-style addressing', defaultDoc: 'AWS' }),
  s3AccessKey: string({ env: 'ASYA_S3_ACCESS_KEY', doc: 'access key', defaultDoc: '`minioadmin` with a custom endpoint; else the AWS chain', secret: true }),
  s3SecretKey: string({ env: 'ASYA_S3_SECRET_KEY', doc: 'secret key', defaultDoc: '`minioadmin` with a custom endpoint; else the AWS chain', secret: true }),
  // The original's Helm values named it ASYA_S3_REGION, which its code never read.
  awsRegion: string({ env: 'AWS_REGION', doc: "the bucket's region", default: 'us-east-1', aliases: ['ASYA_S3_REGION'] }),
  resultsPrefix: string({ env: 'ASYA_S3_RESULTS_PREFIX', doc: "key prefix of happy-end's results; empty: none", default: 'happy-asya/', keepEmpty: true }),
  errorsPrefix: string({ env: 'ASYA_S3_ERRORS_PREFIX', doc: "key prefix of error-end's records; empty: none", default: 'error-asya/', keepEmpty: true }),
  gatewayUrl: describedAs(GATEWAY_URL, { doc: 'where final statuses and retry progress go; without it the crew only stores' }),
  gatewayToken: describedAs(GATEWAY_TOKEN, { doc: "bearer token for the gateway's internal endpoints" }),
  defaultPolicy: json(retrySchema, 'spec.retry: {maxAttempts, initialDelaySeconds, multiplier, maxDelaySeconds, jitter, nonRetryableErrors}', {
    env: 'ASYA_RETRY_POLICY',
    doc: 'error-end: the policy for error envelopes that carry none (for instance from the original Go sidecar)',
    default: DEFAULT_RETRY_POLICY,
    defaultDoc: 'maxAttempts 3, 1 s, ×2, at most 300 s, jitter',
  }),
  dlqQueue: DLQ_QUEUE_NAME,
  runtimeTimeoutMs: describedAs(RUNTIME_TIMEOUT, {
    doc: 'read by the crew too: one final report tries twice, each try at most a quarter of it (and at most 5 s), so a handler call ends well inside it while the gateway is away',
  }),
  fanInPolicy: oneOf(FAN_IN_POLICIES, {
    env: 'ASYA_FAN_IN_POLICY',
    doc: 'fan-in: wait-all (failed children marked in place), fail-fast (a failed child fails the whole), partial ({results, errors})',
    default: 'wait-all',
  }),
  fanInTimeoutMs: duration({
    env: 'ASYA_FAN_IN_TIMEOUT',
    doc: 'fan-in: from the first child that arrives, how long to wait for its siblings; then the missing ones count as failed',
    default: '10m',
    minMs: 1,
  }),
  fanInDatabaseUrl: string({
    env: 'ASYA_FAN_IN_DATABASE_URL',
    doc: "fan-in without a gateway (minimal pattern): the PostgreSQL where it keeps arrivals and its outbox. Not together with ASYA_GATEWAY_URL",
    defaultDoc: "unset: the gateway's store keeps the state",
    secret: true,
  }),
  fanInDatabaseSchema: string({
    env: 'ASYA_FAN_IN_DATABASE_SCHEMA',
    doc: 'fan-in without a gateway: the schema of its tables in that database (created if missing)',
    default: 'asya_fan_in',
  }),
  happyEnd: HAPPY_END_ACTOR,
  errorEnd: ERROR_END_ACTOR,
  logLevel: LOG_LEVEL,
  logFormat: LOG_FORMAT,
});

/** What the crew's handlers check of their runtime's settings: they need whole envelopes, unvalidated. */
export const CREW_RUNTIME_SETTINGS = settingsTable('crew-runtime', { mode: HANDLER_MODE, validate: ENABLE_VALIDATION });
