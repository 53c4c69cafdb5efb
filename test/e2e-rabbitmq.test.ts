import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RabbitMqTransport } from '../transport/rabbitmq/rabbitmq.ts';
import { e2eSuite } from './e2e.case.ts';
import { RABBITMQ_URL } from './support/rabbitmq.ts';

e2eSuite('RabbitMQ (results in a directory)', {
  makeTransport: () => RabbitMqTransport.connect({ url: RABBITMQ_URL, connectionName: `e2e-${randomUUID()}` }),
  storageEnv: () => ({ ASYA_RESULTS_DIR: mkdtempSync(join(tmpdir(), 'asya-e2e-results-')) }),
  brokerEnv: () => ({ ASYA_TRANSPORT: 'rabbitmq', ASYA_RABBITMQ_URL: RABBITMQ_URL }),
  retry: { initialDelaySeconds: 0.3, multiplier: 3 },
  schemaPrefix: 'e2e_rmq',
  crashCalls: 200,
});
