/**
 * The brokers Asya deploys on: the one list every component derives its transport handling from. It lives in
 * protocol (which depends on nothing) so that api's CRD enum and transport's plugin registry
 * (transport/registry.ts, a Record over these names) share it; adding a name makes the compiler list every
 * place that must handle the new broker.
 */
export const TRANSPORT_NAMES = ['rabbitmq', 'sqs', 'nats'] as const;
export type TransportName = (typeof TRANSPORT_NAMES)[number];

export function isTransportName(value: unknown): value is TransportName {
  return (TRANSPORT_NAMES as readonly unknown[]).includes(value);
}
