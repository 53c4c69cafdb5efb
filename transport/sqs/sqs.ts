/**
 * Amazon SQS transport (@aws-sdk/client-sqs; tested against moto_server). Standard queues named like the
 * RabbitMQ ones; `<queue>-dlq` through a redrive policy. Limits and delay chaining live in sqs-policy.ts.
 */
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  TagQueueCommand,
  SQSClient,
  type Message,
  type QueueAttributeName,
} from '@aws-sdk/client-sqs';
import { concurrencyOf } from '../dispatch.ts';
import { errorText, stderrLogger, type TransportLogger } from '../log.ts';
import { SqsConsumer, type SqsConsumerHost } from './sqs-consumer.ts';
import {
  DEFAULT_VISIBILITY_SECONDS,
  delayAttributes,
  messageSize,
  parseRedrivePolicy,
  planDelay,
  queueNameFromArn,
  SQS_MAX_DELAY_SECONDS,
  SQS_MAX_MESSAGE_BYTES,
  visibilityFor,
} from './sqs-policy.ts';
import {
  deadLetterQueueOf,
  TransportError,
  type ConsumeOptions,
  type Consumer,
  type Delivery,
  type DeliveryHandler,
  type PublishOptions,
  type QueueDepth,
  type QueueOptions,
  type Transport,
} from '../transport.ts';
import { asError } from '../../protocol/errors.ts';

export interface SqsTransportOptions {
  /** @default 'us-east-1' */
  region?: string;
  /** Custom endpoint (moto, LocalStack); also replaces the host of queue URLs the server returns. */
  endpoint?: string;
  /** Omit to use the SDK's default chain (env, IRSA, instance profile). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Long-poll wait. @default 20 */
  waitTimeSeconds?: number;
  /** Per-receive visibility timeout. @default from ensureQueue's processingTimeoutMs, else 30 */
  visibilityTimeoutSeconds?: number;
  /** @default 262144 */
  maxMessageBytes?: number;
  /** SQS's per-message delay ceiling; only tests lower it. @default 900 */
  maxDelaySeconds?: number;
  logger?: TransportLogger;
}

interface DeliveryState {
  readonly url: string;
  readonly receiptHandle: string;
  readonly stopHeartbeat: () => void;
  settled: boolean;
}

const TEXT = new TextDecoder('utf-8', { fatal: true });

export class SqsTransport implements Transport {
  readonly kind = 'sqs' as const;
  readonly client: SQSClient;
  private readonly log: TransportLogger;
  private readonly endpoint: URL | undefined;
  private readonly waitTimeSeconds: number;
  private readonly maxMessageBytes: number;
  private readonly maxDelaySeconds: number;
  private readonly visibilityOverride: number | undefined;
  private readonly urls = new Map<string, string>();
  private readonly visibility = new Map<string, number>();
  private readonly states = new WeakMap<Delivery, DeliveryState>();
  private readonly consumers = new Set<SqsConsumer>();
  private readonly host: SqsConsumerHost;
  private closed = false;

  constructor(options: SqsTransportOptions = {}) {
    this.client = new SQSClient({
      region: options.region ?? 'us-east-1',
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
    });
    this.endpoint = options.endpoint ? new URL(options.endpoint) : undefined;
    this.log = options.logger ?? stderrLogger;
    this.waitTimeSeconds = options.waitTimeSeconds ?? 20;
    this.maxMessageBytes = options.maxMessageBytes ?? SQS_MAX_MESSAGE_BYTES;
    this.maxDelaySeconds = options.maxDelaySeconds ?? SQS_MAX_DELAY_SECONDS;
    this.visibilityOverride = options.visibilityTimeoutSeconds;
    this.host = {
      client: this.client,
      log: this.log,
      adopt: (queue, url, message, stopHeartbeat) => this.adopt(queue, url, message, stopHeartbeat),
      isSettled: (delivery) => this.states.get(delivery)?.settled ?? true,
      requeue: (delivery) => this.nack(delivery, { requeue: true }),
      release: (url, receiptHandle) => this.changeVisibility(url, receiptHandle, 0),
      extend: (url, receiptHandle, seconds) => this.changeVisibility(url, receiptHandle, seconds),
      redelay: (queue, url, message, remainingMs) => this.redelay(queue, url, message, remainingMs),
      forget: (consumer) => this.consumers.delete(consumer),
    };
  }

  async ensureQueue(queue: string, options: QueueOptions = {}): Promise<void> {
    this.assertOpen();
    const attributes: Partial<Record<QueueAttributeName, string>> = {};
    if (options.processingTimeoutMs !== undefined) {
      const seconds = visibilityFor(options.processingTimeoutMs);
      attributes.VisibilityTimeout = String(seconds);
      this.visibility.set(queue, seconds);
    }
    if (options.maxDeliveries !== undefined) {
      if (!Number.isInteger(options.maxDeliveries) || options.maxDeliveries < 1) {
        throw new RangeError(`maxDeliveries must be a positive integer, got ${options.maxDeliveries}`);
      }
      const dlqAttributes: Partial<Record<QueueAttributeName, string>> = {};
      if (options.dlqRetentionMs !== undefined) dlqAttributes.MessageRetentionPeriod = String(Math.min(1_209_600, Math.max(60, Math.ceil(options.dlqRetentionMs / 1000))));
      const dlqUrl = await this.createQueue(deadLetterQueueOf(queue), dlqAttributes, options.tags);
      const arn = (await this.attributes(dlqUrl, ['QueueArn'])).QueueArn;
      if (!arn) throw new TransportError(`no ARN for ${deadLetterQueueOf(queue)}`, 'unavailable');
      attributes.RedrivePolicy = JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: String(options.maxDeliveries) });
    }
    await this.createQueue(queue, attributes, options.tags);
  }

  async deleteQueue(queue: string): Promise<void> {
    let url: string;
    try {
      url = await this.url(queue);
    } catch (err) {
      if (err instanceof TransportError && err.reason === 'not_found') return;
      throw err;
    }
    await this.call(`delete ${queue}`, () => this.client.send(new DeleteQueueCommand({ QueueUrl: url })), queue);
    this.urls.delete(queue);
    this.visibility.delete(queue);
  }

  async queueDepth(queue: string): Promise<QueueDepth> {
    this.assertOpen();
    const a = await this.attributes(await this.url(queue), [
      'ApproximateNumberOfMessages',
      'ApproximateNumberOfMessagesNotVisible',
      'ApproximateNumberOfMessagesDelayed',
    ], queue);
    return {
      ready: Number(a.ApproximateNumberOfMessages ?? 0),
      inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0),
      delayed: Number(a.ApproximateNumberOfMessagesDelayed ?? 0),
    };
  }

  async publish(queue: string, body: Buffer, options: PublishOptions = {}): Promise<void> {
    this.assertOpen();
    await this.send(queue, body, options.delayMs ?? 0);
  }

  async consume(queue: string, handler: DeliveryHandler, options?: ConsumeOptions): Promise<Consumer> {
    this.assertOpen();
    const concurrency = concurrencyOf(options);
    const url = await this.url(queue);
    const consumer = new SqsConsumer(this.host, queue, url, handler, concurrency, {
      waitTimeSeconds: this.waitTimeSeconds,
      visibilitySeconds: this.visibilityOverride ?? this.visibility.get(queue) ?? DEFAULT_VISIBILITY_SECONDS,
    });
    this.consumers.add(consumer);
    consumer.start();
    return consumer;
  }

  async ack(delivery: Delivery): Promise<void> {
    const state = this.settle(delivery);
    if (!state) return;
    await this.call('ack', () =>
      this.client.send(new DeleteMessageCommand({ QueueUrl: state.url, ReceiptHandle: state.receiptHandle })),
    ).catch((err) => this.staleOrThrow(err, delivery, 'ack'));
  }

  async nack(delivery: Delivery, options: { requeue?: boolean } = {}): Promise<void> {
    const state = this.settle(delivery);
    if (!state) return;
    if (options.requeue === false) return this.deadLetter(delivery, state);
    await this.changeVisibility(state.url, state.receiptHandle, 0).catch((err) =>
      this.staleOrThrow(err, delivery, 'nack'),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const consumer of this.consumers) consumer.abandon();
    this.client.destroy();
  }


  private adopt(queue: string, url: string, message: Message, stopHeartbeat: () => void): Delivery {
    const delivery: Delivery = Object.freeze({
      queue,
      body: Buffer.from(message.Body ?? '', 'utf8'),
      deliveryCount: Math.max(1, Number(message.Attributes?.ApproximateReceiveCount ?? 1) || 1),
      ...(message.MessageId ? { messageId: message.MessageId } : {}),
    });
    this.states.set(delivery, { url, receiptHandle: message.ReceiptHandle!, stopHeartbeat, settled: false });
    return delivery;
  }

  private settle(delivery: Delivery): DeliveryState | undefined {
    const state = this.states.get(delivery);
    if (!state) throw new TypeError('not a delivery of this SqsTransport');
    if (state.settled) return undefined;
    state.settled = true;
    state.stopHeartbeat();
    if (this.closed) {
      this.log.warn('ack/nack after close ignored; the message reappears after its visibility timeout', {
        queue: delivery.queue,
      });
      return undefined;
    }
    return state;
  }

  /** Chaining hop: the copy goes out first, so a crash in between duplicates the message instead of losing it. */
  private async redelay(queue: string, url: string, message: Message, remainingMs: number): Promise<void> {
    await this.send(queue, Buffer.from(message.Body ?? '', 'utf8'), remainingMs);
    await this.client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle }));
  }

  private async deadLetter(delivery: Delivery, state: DeliveryState): Promise<void> {
    const policy = parseRedrivePolicy((await this.attributes(state.url, ['RedrivePolicy'])).RedrivePolicy);
    if (policy) {
      await this.send(queueNameFromArn(policy.deadLetterTargetArn), delivery.body, 0);
    } else {
      this.log.warn('message discarded: queue has no DLQ', { queue: delivery.queue, messageId: delivery.messageId });
    }
    await this.call('delete', () =>
      this.client.send(new DeleteMessageCommand({ QueueUrl: state.url, ReceiptHandle: state.receiptHandle })),
    );
  }

  private async send(queue: string, body: Buffer, delayMs: number): Promise<void> {
    const plan = planDelay(delayMs, this.maxDelaySeconds);
    const attributes = delayAttributes(plan);
    const size = messageSize(body, attributes);
    if (size > this.maxMessageBytes) {
      throw new TransportError(`message of ${size} bytes exceeds the SQS limit of ${this.maxMessageBytes}`, 'too_large');
    }
    let text: string;
    try {
      text = TEXT.decode(body);
    } catch (err) {
      throw new TransportError('SQS message bodies must be UTF-8 text', 'rejected', { cause: err });
    }
    try {
      await this.sendTo(queue, text, plan.delaySeconds, attributes);
    } catch (err) {
      // The same refusal as the other transports give: the message has nowhere to go, now or on a retry.
      if (err instanceof TransportError && err.reason === 'not_found') {
        throw new TransportError(`queue ${queue} does not exist`, 'unroutable', { cause: err });
      }
      throw err;
    }
  }

  private async sendTo(queue: string, text: string, delaySeconds: number, attributes: ReturnType<typeof delayAttributes>): Promise<void> {
    const url = await this.url(queue);
    await this.call(
      `publish to ${queue}`,
      () =>
        this.client.send(
          new SendMessageCommand({
            QueueUrl: url,
            MessageBody: text,
            ...(delaySeconds > 0 ? { DelaySeconds: delaySeconds } : {}),
            ...(attributes ? { MessageAttributes: attributes } : {}),
          }),
        ),
      queue,
    );
  }

  private async createQueue(name: string, attributes: Partial<Record<QueueAttributeName, string>>, tags?: Record<string, string>): Promise<string> {
    try {
      const out = await this.client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes, ...(tags ? { tags } : {}) }));
      const url = this.localUrl(out.QueueUrl!);
      this.urls.set(name, url);
      return url;
    } catch (err) {
      const code = asError(err).name;
      if (code !== 'QueueNameExists' && code !== 'QueueAlreadyExists') throw mapSqsError(err, `create ${name}`);
      // Same name, other attributes: reconcile in place. Deleting would lose messages and block the name for 60 s.
      const url = await this.url(name);
      this.log.info('queue exists with other attributes; updating them', { queue: name, attributes });
      await this.call(`update ${name}`, () =>
        this.client.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: attributes })),
      );
      if (tags) await this.call(`tag ${name}`, () => this.client.send(new TagQueueCommand({ QueueUrl: url, Tags: tags })));
      return url;
    }
  }

  private async url(queue: string): Promise<string> {
    const cached = this.urls.get(queue);
    if (cached) return cached;
    const out = await this.call(`queue ${queue}`, () => this.client.send(new GetQueueUrlCommand({ QueueName: queue })), queue);
    const url = this.localUrl(out.QueueUrl!);
    this.urls.set(queue, url);
    return url;
  }

  /** LocalStack-style servers answer with their own host name; keep talking to the endpoint we were given. */
  private localUrl(url: string): string {
    if (!this.endpoint) return url;
    const parsed = new URL(url);
    if (parsed.host === this.endpoint.host && parsed.protocol === this.endpoint.protocol) return url;
    parsed.protocol = this.endpoint.protocol;
    parsed.host = this.endpoint.host;
    return parsed.toString();
  }

  private async attributes(url: string, names: QueueAttributeName[], queue?: string): Promise<Record<string, string>> {
    const out = await this.call(
      'get queue attributes',
      () => this.client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: names })),
      queue,
    );
    return out.Attributes ?? {};
  }

  private changeVisibility(url: string, receiptHandle: string, seconds: number): Promise<void> {
    return this.client
      .send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: receiptHandle, VisibilityTimeout: seconds }))
      .then(() => undefined);
  }

  /** A receipt handle that no longer works means SQS already gave the message to someone else. */
  private staleOrThrow(err: unknown, delivery: Delivery, what: string): void {
    const code = (err as { cause?: { name?: string } })?.cause?.name ?? asError(err).name;
    if (code === 'ReceiptHandleIsInvalid' || code === 'MessageNotInflight' || code === 'InvalidParameterValue') {
      this.log.warn(`stale delivery: ${what} ignored`, { queue: delivery.queue, messageId: delivery.messageId });
      return;
    }
    throw err;
  }

  /** Runs an SQS call, forgetting a cached URL whose queue is gone so a recreated queue is found again. */
  private async call<T>(what: string, fn: () => Promise<T>, queue?: string): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const mapped = mapSqsError(err, what);
      if (queue && mapped.reason === 'not_found') this.urls.delete(queue);
      throw mapped;
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new TransportError('transport is closed', 'closed');
  }
}

/** Exported for its unit test: real SQS refusals cannot all be provoked on moto. */
export function mapSqsError(err: unknown, what: string): TransportError {
  if (err instanceof TransportError) return err;
  const code = asError(err).name ?? '';
  if (code === 'QueueDoesNotExist' || code === 'AWS.SimpleQueueService.NonExistentQueue') {
    return new TransportError(`${what}: queue does not exist`, 'not_found', { cause: err });
  }
  // SQS answers an oversized body with InvalidParameterValue, "Message must be shorter than 262144 bytes"
  // (or 1048576 since 2025): the same refusal as our own check, so it is told apart from other bad input.
  if (/must be shorter than|too long/i.test(errorText(err))) {
    return new TransportError(`${what}: ${errorText(err)}`, 'too_large', { cause: err });
  }
  if (code === 'InvalidMessageContents' || code === 'InvalidParameterValue' || code === 'InvalidAttributeValue') {
    return new TransportError(`${what}: ${errorText(err)}`, 'rejected', { cause: err });
  }
  return new TransportError(`${what}: ${errorText(err)}`, 'unavailable', { cause: err });
}
