import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { SqsTransport } from '../transport/sqs/sqs.ts';
import { e2eSuite } from './e2e.case.ts';
import { startMoto, type MotoServer } from './support/moto.ts';

let moto: MotoServer;
beforeAll(async () => {
  moto = await startMoto();
});
afterAll(() => moto?.stop());

e2eSuite('SQS, results in S3 (moto)', {
  makeTransport: async () => new SqsTransport({ ...moto.clientConfig, waitTimeSeconds: 1 }),
  storageEnv: () => ({
    ASYA_S3_BUCKET: `e2e-${randomUUID().slice(0, 8)}`,
    ASYA_S3_ENDPOINT: moto.endpoint,
    ASYA_S3_ACCESS_KEY: 'test',
    ASYA_S3_SECRET_KEY: 'test',
  }),
  // A killed sidecar's messages come back after the visibility timeout: keep it short.
  brokerEnv: () => ({
    ASYA_TRANSPORT: 'sqs', ASYA_SQS_ENDPOINT: moto.endpoint, ASYA_SQS_WAIT_TIME_SECONDS: '1', ASYA_SQS_VISIBILITY_TIMEOUT: '3',
    AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test',
  }),
  // SQS delays are whole seconds: 1 s, then 3 s.
  retry: { initialDelaySeconds: 1, multiplier: 3 },
  schemaPrefix: 'e2e_sqs',
  crashCalls: 200,
});
