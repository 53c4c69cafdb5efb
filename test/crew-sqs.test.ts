import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { SqsTransport } from '../transport/sqs/sqs.ts';
import { crewSuite } from './crew-e2e.case.ts';
import { startMoto, type MotoServer } from './support/moto.ts';

let moto: MotoServer;
beforeAll(async () => {
  moto = await startMoto();
});
afterAll(() => moto?.stop());

crewSuite('SQS, results in S3 (moto)', {
  makeTransport: async () => new SqsTransport({ ...moto.clientConfig, waitTimeSeconds: 1 }),
  storageEnv: () => ({
    ASYA_S3_BUCKET: `crew-${randomUUID().slice(0, 8)}`,
    ASYA_S3_ENDPOINT: moto.endpoint,
    ASYA_S3_ACCESS_KEY: 'test',
    ASYA_S3_SECRET_KEY: 'test',
  }),
  // SQS delays are whole seconds: 1 s, then 3 s.
  retry: { initialDelaySeconds: 1, multiplier: 3 },
});
