/** Amazon SQS as a transport plugin: settings, platform settings, sidecar environment, KEDA trigger. */
import { z } from 'zod';
import { fromEnv, int, settingsTable, string, toEnv } from '../../settings/index.ts';
import { TransportConfigError } from '../config-error.ts';
import { configInt, queuePolicySchema, secretKeyRef } from '../platform-values.ts';
import { secretEnv, secretTarget, type TransportPlugin } from '../plugin.ts';
import type { SqsTransportOptions } from './sqs.ts';

export const SQS_SETTINGS = settingsTable('sqs', {
  endpoint: string({ env: 'ASYA_SQS_ENDPOINT', doc: 'a custom endpoint (LocalStack, moto)', defaultDoc: 'AWS' }),
  region: string({ env: 'ASYA_AWS_REGION', doc: 'SQS region', default: 'us-east-1', aliases: ['ASYA_SQS_REGION'] }),
  waitTimeSeconds: int({ env: 'ASYA_SQS_WAIT_TIME_SECONDS', doc: 'long-polling wait; `0` means 20, as in the original, and the maximum is 20', default: 20, min: 0, strictness: 'lenient' }),
  visibilityTimeout: int({
    env: 'ASYA_SQS_VISIBILITY_TIMEOUT',
    doc: 'seconds a received message stays hidden; a heartbeat extends it while the handler runs',
    defaultDoc: 'twice the runtime timeout + 30 s (at most 12 h) when the sidecar declares its queue; else 30',
    min: 1,
    strictness: 'lenient',
  }),
  accessKeyId: string({ env: 'AWS_ACCESS_KEY_ID', doc: 'static credentials (with the next); otherwise the AWS SDK chain: IRSA, an instance role, …', defaultDoc: "the AWS SDK's chain", secret: true, fromFile: true }),
  secretAccessKey: string({ env: 'AWS_SECRET_ACCESS_KEY', doc: 'with the previous', secret: true, fromFile: true }),
  sessionToken: string({ env: 'AWS_SESSION_TOKEN', doc: 'with temporary credentials', secret: true }),
}, [
  { env: 'ASYA_SQS_MAX_MESSAGES', action: 'warn', reason: 'a receive asks for as many messages as there are free handler slots (`ASYA_CONCURRENCY`)' },
  { env: 'ASYA_SQS_BASE_URL', action: 'warn', reason: 'queue URLs come from SQS; set `ASYA_SQS_ENDPOINT` for a custom endpoint' },
]);

export const sqsPlatformSchema = z.object({
  region: z.string().min(1).default('us-east-1'),
  accountId: z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id').optional(),
  endpoint: z.url().optional(),
  /** IRSA: each actor gets ServiceAccount asya-<actor> annotated with this role. */
  actorRoleArn: z.string().startsWith('arn:').optional(),
  credentials: z.object({ accessKeyIdSecretRef: secretKeyRef, secretAccessKeySecretRef: secretKeyRef }).optional(),
  visibilityTimeout: configInt().pipe(z.number().min(1)).optional(),
  waitTimeSeconds: configInt().pipe(z.number().min(1).max(20)).optional(),
  queues: queuePolicySchema.refine((q) => (q.dlq.retentionDays ?? 0) <= 14, { message: 'SQS keeps messages at most 14 days (dlq.retentionDays)' }),
  /** Tags on every actor queue and DLQ, besides asya.sh/actor and asya.sh/namespace (the controller sets them). */
  tags: z.record(z.string(), z.string()).optional(),
});
type Platform = z.output<typeof sqsPlatformSchema>;

export const sqsPlugin = {
  label: 'SQS',
  settings: SQS_SETTINGS,
  platformSchema: sqsPlatformSchema,
  optionsFromEnv(env, options = {}) {
    const s = fromEnv(SQS_SETTINGS, env, { ...options, error: (m) => new TransportConfigError(m) });
    const { accessKeyId, secretAccessKey } = s;
    return {
      region: s.region,
      // The original coerces 0 to 20 too: SQS short polling would spin an idle sidecar.
      waitTimeSeconds: Math.min(20, s.waitTimeSeconds || 20),
      ...(s.endpoint ? { endpoint: s.endpoint } : {}),
      ...(s.visibilityTimeout !== undefined ? { visibilityTimeoutSeconds: s.visibilityTimeout } : {}),
      // Passed through only when the caller's env has them; otherwise the SDK's default chain decides.
      ...(accessKeyId && secretAccessKey
        ? { credentials: { accessKeyId, secretAccessKey, ...(s.sessionToken ? { sessionToken: s.sessionToken } : {}) } }
        : {}),
    };
  },
  async connect(options, logger) {
    const { SqsTransport } = await import('./sqs.ts');
    return new SqsTransport({ ...options, ...(logger ? { logger } : {}) });
  },
  sidecarEnv: (s) => [
    ...toEnv(SQS_SETTINGS, { region: s.region, endpoint: s.endpoint, visibilityTimeout: s.visibilityTimeout || undefined, waitTimeSeconds: s.waitTimeSeconds || undefined }),
    ...(s.credentials
      ? [secretEnv('AWS_ACCESS_KEY_ID', s.credentials.accessKeyIdSecretRef), secretEnv('AWS_SECRET_ACCESS_KEY', s.credentials.secretAccessKeySecretRef)]
      : []),
  ],
  kedaTrigger(queue, scaling, s) {
    if (!s.accountId) return { error: 'transports.sqs.accountId is required to build the queue URL KEDA watches' };
    const queueURL = s.endpoint ? `${s.endpoint.replace(/\/+$/, '')}/${s.accountId}/${queue}` : `https://sqs.${s.region}.amazonaws.com/${s.accountId}/${queue}`;
    const metadata: Record<string, string> = {
      queueURL,
      queueLength: String(scaling.queueLength),
      awsRegion: s.region,
      ...(s.endpoint ? { awsEndpoint: s.endpoint } : {}),
      ...(scaling.activationQueueLength !== undefined ? { activationQueueLength: String(scaling.activationQueueLength) } : {}),
      scaleOnInFlight: String(scaling.countInFlight),
      scaleOnDelayed: String(scaling.countDelayed),
    };
    if (s.credentials) {
      return { type: 'aws-sqs-queue', metadata, auth: { secretTargetRef: [secretTarget('awsAccessKeyID', s.credentials.accessKeyIdSecretRef), secretTarget('awsSecretAccessKey', s.credentials.secretAccessKeySecretRef)] } };
    }
    // The workload's IRSA role (ServiceAccount asya-<actor>) also reads its queue's attributes.
    if (s.actorRoleArn) return { type: 'aws-sqs-queue', metadata, auth: { podIdentity: { provider: 'aws', identityOwner: 'workload' } } };
    return { type: 'aws-sqs-queue', metadata };
  },
  workloadRoleArn: (s) => s.actorRoleArn,
} satisfies TransportPlugin<Platform, SqsTransportOptions>;
