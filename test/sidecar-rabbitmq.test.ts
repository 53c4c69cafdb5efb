import { RabbitMqTransport } from '../transport/rabbitmq/rabbitmq.ts';
import { sidecarSuite } from './sidecar.case.ts';
import { RABBITMQ_URL } from './support/rabbitmq.ts';

sidecarSuite('RabbitMQ', {
  makeTransport: () => RabbitMqTransport.connect({ url: RABBITMQ_URL, connectionName: 'sidecar-suite' }),
  runtimes: ['node', 'python'],
  shared: true,
});
