export * from './transport.ts';
export { stderrLogger, type TransportLogger } from './log.ts';
export { MemoryTransport, type MemoryTransportOptions } from './memory.ts';
export { RabbitMqTransport, type RabbitMqTransportOptions } from './rabbitmq/rabbitmq.ts';
export { SqsTransport, type SqsTransportOptions } from './sqs/sqs.ts';
export { TRANSPORT_NAMES, TRANSPORT_PLUGINS, transportsPlatformSchema, type TransportName, type TransportsPlatformConfig } from './registry.ts';
export type { TransportPlugin, PodEnvVar, KedaTrigger, ScalingInput } from './plugin.ts';
export {
  createTransport,
  TRANSPORT_KINDS,
  TRANSPORT_SETTINGS,
  type TransportKind,
  transportConfigFromEnv,
  TransportConfigError,
  type CreateTransportExtras,
  type TransportConfig,
  type TransportEnv,
} from './factory.ts';
