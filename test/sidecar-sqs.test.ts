import { afterAll, beforeAll } from 'vitest';
import { SqsTransport } from '../transport/sqs/sqs.ts';
import { sidecarSuite } from './sidecar.case.ts';
import { startMoto, type MotoServer } from './support/moto.ts';

let moto: MotoServer;
beforeAll(async () => {
  moto = await startMoto();
});
afterAll(() => moto?.stop());

sidecarSuite('SQS (moto)', {
  makeTransport: async () => new SqsTransport({ ...moto.clientConfig, waitTimeSeconds: 1 }),
  runtimes: ['node', 'python'],
  maxBody: 256 * 1024,
});
