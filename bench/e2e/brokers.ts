/**
 * The broker an Asya leg of bench/e2e runs on, behind one shape: the settings its processes get, and what
 * the bench itself asks of the queues (depth, purge, removal). RabbitMQ is the shared server; SQS is a
 * moto_server of the bench's own, as in the tests.
 */
import amqp from 'amqplib';
import { DeleteQueueCommand, GetQueueAttributesCommand, GetQueueUrlCommand, PurgeQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startMoto } from '../../test/support/moto.ts';

export const BROKER_LEGS = ['rabbitmq', 'sqs'] as const;
export type BrokerLeg = (typeof BROKER_LEGS)[number];

export interface BenchBroker {
  readonly name: BrokerLeg;
  /** ASYA_TRANSPORT and the broker's own settings, for every process of the pipeline. */
  readonly env: Record<string, string>;
  /** Messages waiting (not delivered) in the queue; 0 when it does not exist. */
  ready(queue: string): Promise<number>;
  purge(queue: string): Promise<void>;
  remove(queue: string): Promise<void>;
  close(): Promise<void>;
}

export async function openBroker(leg: BrokerLeg, rabbitmqUrl: string): Promise<BenchBroker> {
  return leg === 'sqs' ? openSqs() : openRabbitMq(rabbitmqUrl);
}

async function openRabbitMq(url: string): Promise<BenchBroker> {
  const connection = await amqp.connect(url, { noDelay: true });
  const channel = await connection.createChannel();
  return {
    name: 'rabbitmq',
    env: { ASYA_TRANSPORT: 'rabbitmq', ASYA_RABBITMQ_URL: url },
    ready: async (queue) => (await channel.checkQueue(queue)).messageCount,
    purge: async (queue) => {
      await channel.purgeQueue(queue);
    },
    remove: async (queue) => {
      await channel.deleteQueue(queue);
    },
    close: () => connection.close(),
  };
}

async function openSqs(): Promise<BenchBroker> {
  const moto = await startMoto();
  const client = new SQSClient(moto.clientConfig);
  const urlOf = async (queue: string) => {
    try {
      return (await client.send(new GetQueueUrlCommand({ QueueName: queue }))).QueueUrl;
    } catch {
      return undefined;
    }
  };
  const { region, endpoint, credentials } = moto.clientConfig;
  return {
    name: 'sqs',
    env: {
      ASYA_TRANSPORT: 'sqs', ASYA_SQS_ENDPOINT: endpoint, ASYA_AWS_REGION: region,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    },
    async ready(queue) {
      const QueueUrl = await urlOf(queue);
      if (!QueueUrl) return 0;
      const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
      return Number(Attributes?.ApproximateNumberOfMessages ?? 0);
    },
    async purge(queue) {
      const QueueUrl = await urlOf(queue);
      if (QueueUrl) await client.send(new PurgeQueueCommand({ QueueUrl }));
    },
    async remove(queue) {
      const QueueUrl = await urlOf(queue);
      if (QueueUrl) await client.send(new DeleteQueueCommand({ QueueUrl }));
    },
    async close() {
      client.destroy();
      await moto.stop();
    },
  };
}
