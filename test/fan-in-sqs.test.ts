// Fan-in end to end on SQS (moto). A killed sidecar's messages come back only after the visibility timeout
// (3 s here), so the crash case kills the fan-in's sidecar 3 times in the suite rather than RabbitMQ's 20, to
// stay bounded; ASYA_TEST_FAN_IN_KILLS=20 runs the full count (docs/concepts.md records that run).
import { TEST_BROKERS, brokerSession } from './support/brokers.ts';
import { fanInSuite } from './fan-in.case.ts';

const session = brokerSession('sqs');
fanInSuite(TEST_BROKERS.sqs.label, {
  makeTransport: session.makeTransport,
  brokerEnv: session.env,
  storageEnv: () => session.storageEnv('fan-in'),
  retry: TEST_BROKERS.sqs.retry,
  schemaPrefix: 'fanin_sqs',
  kills: Number(process.env.ASYA_TEST_FAN_IN_KILLS ?? 3),
});
