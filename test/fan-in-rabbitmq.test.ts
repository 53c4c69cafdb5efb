// Fan-in end to end on RabbitMQ; the crash case kills the fan-in's sidecar 20 times.
import { TEST_BROKERS, brokerSession } from './support/brokers.ts';
import { fanInSuite } from './fan-in.case.ts';

const session = brokerSession('rabbitmq');
fanInSuite(TEST_BROKERS.rabbitmq.label, {
  makeTransport: session.makeTransport,
  brokerEnv: session.env,
  storageEnv: () => session.storageEnv('fan-in'),
  retry: TEST_BROKERS.rabbitmq.retry,
  schemaPrefix: 'fanin_rabbitmq',
  kills: 20,
});
