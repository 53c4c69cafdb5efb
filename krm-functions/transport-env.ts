/**
 * How platform transport settings reach a sidecar: the original operator's env names (reference §2.2),
 * which transport/factory.ts reads, and the queue names KEDA must watch.
 */
import type { TransportName } from '../api/index.ts';
import { queueName, queuePolicyEnv } from '../protocol/index.ts';
import type { PlatformConfig } from './platform-config.ts';

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: Record<string, unknown>;
}

const literal = (name: string, value: string): EnvVar => ({ name, value });
const fromSecret = (name: string, ref: { name: string; key: string }): EnvVar => ({ name, valueFrom: { secretKeyRef: { name: ref.name, key: ref.key } } });

export const RABBITMQ_USERNAME_ENV = 'ASYA_RABBITMQ_USERNAME';
export const RABBITMQ_PASSWORD_ENV = 'ASYA_RABBITMQ_PASSWORD';

export function transportEnv(transport: TransportName, platform: PlatformConfig): EnvVar[] {
  const env: EnvVar[] = [literal('ASYA_TRANSPORT', transport)];
  if (transport === 'rabbitmq') {
    const r = platform.transports.rabbitmq;
    env.push(literal('ASYA_RABBITMQ_HOST', r.host), literal('ASYA_RABBITMQ_PORT', String(r.port)));
    env.push(r.usernameSecretRef ? fromSecret(RABBITMQ_USERNAME_ENV, r.usernameSecretRef) : literal(RABBITMQ_USERNAME_ENV, r.username));
    if (r.passwordSecretRef) env.push(fromSecret(RABBITMQ_PASSWORD_ENV, r.passwordSecretRef));
    if (r.vhost !== '/') env.push(literal('ASYA_RABBITMQ_VHOST', r.vhost));
    if (r.exchange) env.push(literal('ASYA_RABBITMQ_EXCHANGE', r.exchange));
  } else {
    const s = platform.transports.sqs;
    env.push(literal('ASYA_AWS_REGION', s.region));
    if (s.endpoint) env.push(literal('ASYA_SQS_ENDPOINT', s.endpoint));
    if (s.visibilityTimeout) env.push(literal('ASYA_SQS_VISIBILITY_TIMEOUT', String(s.visibilityTimeout)));
    if (s.waitTimeSeconds) env.push(literal('ASYA_SQS_WAIT_TIME_SECONDS', String(s.waitTimeSeconds)));
    if (s.credentials) {
      env.push(fromSecret('AWS_ACCESS_KEY_ID', s.credentials.accessKeyIdSecretRef), fromSecret('AWS_SECRET_ACCESS_KEY', s.credentials.secretAccessKeySecretRef));
    }
  }
  if (platform.queuePrefix) env.push(literal('ASYA_QUEUE_PREFIX', platform.queuePrefix));
  // The transport's queue policy, so the sidecar declares the queue as the controller does (default: no env).
  env.push(...queuePolicyEnv(platform.transports[transport].queues));
  return env;
}

/** The broker-side name of an actor's queue, as the sidecar's transport will name it. */
export function physicalQueueName(actor: string, platform: PlatformConfig): string {
  return platform.queuePrefix + queueName(actor);
}
