/**
 * How the shared suites (sidecar, crew, e2e, dev) reach each broker of transport/registry.ts: a Record over
 * the same names, so a new broker does not compile until it says how its tests connect. The per-broker test
 * files are one line each, generated and checked by test/broker-runners.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { temporaryDir } from '../../cli/temp-dir.ts';
import { TRANSPORT_PLUGINS, type TransportName } from '../../transport/registry.ts';
import type { Transport } from '../../transport/transport.ts';
import { startMoto, type MotoServer } from './moto.ts';
import { NATS_URL } from './nats.ts';
import { RABBITMQ_URL } from './rabbitmq.ts';

export interface BrokerSession {
  /** A fresh client of the broker (each caller closes its own). */
  makeTransport(): Promise<Transport>;
  /** ASYA_TRANSPORT and the broker's variables for a spawned `asya` process. */
  env(): Record<string, string>;
  /** Where the crew stores envelopes: a results directory, or a bucket on the same moto. */
  storageEnv(tag: string): Record<string, string>;
}

export interface TestBroker {
  /** For suite titles. */
  label: string;
  /** Backoff for the actors' retries; SQS delays are whole seconds, so its steps must be wider. */
  retry: { initialDelaySeconds: number; multiplier: number };
  /** Largest body the broker takes; undefined when 10 MiB goes through. */
  maxBody?: number;
  /** The broker is shared with other test files (queues of our own, deleted after). */
  shared: boolean;
  start(): Promise<BrokerSession & { stop(): Promise<void> }>;
}

// Gone with the test process (or, if it was killed, with the next one's first results directory).
const resultsDir = (tag: string) => ({ ASYA_RESULTS_DIR: temporaryDir(`asya-${tag}-results-`).path });
const clientOf = async (name: TransportName, env: Record<string, string>) => TRANSPORT_PLUGINS[name].connect(TRANSPORT_PLUGINS[name].optionsFromEnv(env));

/** A broker that runs on this machine already: nothing to start or stop. */
function sharedServer(name: TransportName, env: Record<string, string>): () => Promise<BrokerSession & { stop(): Promise<void> }> {
  const full = { ASYA_TRANSPORT: name, ...env };
  return async () => ({ makeTransport: () => clientOf(name, full), env: () => full, storageEnv: resultsDir, stop: async () => {} });
}

export const TEST_BROKERS: Record<TransportName, TestBroker> = {
  rabbitmq: {
    label: 'RabbitMQ',
    retry: { initialDelaySeconds: 0.3, multiplier: 3 },
    shared: true,
    start: sharedServer('rabbitmq', { ASYA_RABBITMQ_URL: RABBITMQ_URL }),
  },
  sqs: {
    label: 'SQS (moto)',
    retry: { initialDelaySeconds: 1, multiplier: 3 },
    maxBody: 256 * 1024,
    shared: false,
    async start() {
      const moto: MotoServer = await startMoto();
      // A killed sidecar's messages come back after the visibility timeout: keep it short; short polls too.
      const env = {
        ASYA_TRANSPORT: 'sqs', ASYA_SQS_ENDPOINT: moto.endpoint, ASYA_SQS_WAIT_TIME_SECONDS: '1', ASYA_SQS_VISIBILITY_TIMEOUT: '3',
        AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test',
      };
      return {
        makeTransport: () => clientOf('sqs', { ...env, ASYA_SQS_VISIBILITY_TIMEOUT: '' }),
        env: () => env,
        storageEnv: (tag) => ({ ASYA_S3_BUCKET: `${tag}-${randomUUID().slice(0, 8)}`, ASYA_S3_ENDPOINT: moto.endpoint, ASYA_S3_ACCESS_KEY: 'test', ASYA_S3_SECRET_KEY: 'test' }),
        stop: () => moto.stop(),
      };
    },
  },
  nats: {
    label: 'NATS JetStream',
    retry: { initialDelaySeconds: 0.3, multiplier: 3 },
    maxBody: 1024 * 1024,
    shared: true,
    // A short ack wait, so a killed sidecar's messages come back quickly; in-progress acks cover slow handlers.
    start: sharedServer('nats', { ASYA_NATS_URL: NATS_URL, ASYA_NATS_ACK_WAIT: '3s' }),
  },
};

/** The broker's session for this test file: started before its tests, stopped after. */
export function brokerSession(name: TransportName): BrokerSession {
  let session: (BrokerSession & { stop(): Promise<void> }) | undefined;
  beforeAll(async () => {
    session = await TEST_BROKERS[name].start();
  }, 240_000);
  afterAll(async () => {
    await session?.stop();
  }, 240_000);
  const live = () => {
    if (!session) throw new Error(`the ${name} test broker has not started`);
    return session;
  };
  return { makeTransport: () => live().makeTransport(), env: () => live().env(), storageEnv: (tag) => live().storageEnv(tag) };
}
