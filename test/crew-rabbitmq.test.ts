import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RabbitMqTransport } from '../transport/rabbitmq/rabbitmq.ts';
import { crewSuite } from './crew-e2e.case.ts';
import { RABBITMQ_URL } from './support/rabbitmq.ts';

crewSuite('RabbitMQ (results in a directory)', {
  makeTransport: () => RabbitMqTransport.connect({ url: RABBITMQ_URL, connectionName: 'crew-suite' }),
  storageEnv: () => ({ ASYA_RESULTS_DIR: mkdtempSync(join(tmpdir(), 'asya-crew-results-')) }),
  retry: { initialDelaySeconds: 0.3, multiplier: 3 },
});
