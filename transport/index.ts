export * from './transport.ts';
export { stderrLogger, type TransportLogger } from './log.ts';
export { MemoryTransport, type MemoryTransportOptions } from './memory.ts';
export { RabbitMqTransport, type RabbitMqTransportOptions } from './rabbitmq/rabbitmq.ts';
export { SqsTransport, type SqsTransportOptions } from './sqs/sqs.ts';
export {
  createTransport,
  transportConfigFromEnv,
  TransportConfigError,
  type CreateTransportExtras,
  type TransportConfig,
  type TransportEnv,
} from './factory.ts';
