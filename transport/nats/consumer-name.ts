/**
 * The durable consumer every replica of an actor pulls from, and whose lag KEDA's trigger reads. In a module
 * of its own because plugin.ts needs it and is loaded on every broker: importing it from nats-topology.ts
 * would load the JetStream client into a RabbitMQ or SQS sidecar and into the KRM functions.
 */
export const CONSUMER_NAME = 'asya';
