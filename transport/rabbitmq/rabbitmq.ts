/**
 * RabbitMQ transport (amqplib, AMQP 0-9-1). Topology: durable topic exchange `asya`; queue `asya-<actor>`
 * bound with routing key `<actor>`. Queue type and delay mechanism are explained in rabbitmq-topology.ts.
 *
 * Reconnects with backoff after a lost connection; consumers re-subscribe on their own channels. Delivery
 * tags are per channel, so a delivery from a dead channel is never acked on a new one (rabbitmq-consumer.ts).
 *
 * queueDepth: AMQP reports only ready messages, so `inFlight` is what this instance holds unacked and
 * `delayed` what sits in holding queues this instance published to. Cluster-wide unacked counts need the
 * management API (KEDA's RabbitMQ scaler uses it).
 */
import { randomUUID } from 'node:crypto';
import amqp, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { actorFromQueue } from '../../protocol/queues.ts';
import { backoffDelay, concurrencyOf, sleep } from '../dispatch.ts';
import { errorText, stderrLogger, type TransportLogger } from '../log.ts';
import { closeQuietly, RabbitConsumer, type ConsumerHost } from './rabbitmq-consumer.ts';
import { amqpCode, bucketDelay, holdingQueue, maxMessageSizeOfRefusal, queueArguments } from './rabbitmq-topology.ts';
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

export interface RabbitMqTransportOptions {
  /** amqp://user:pass@host:port/vhost */
  url: string;
  /** @default 'asya' */
  exchange?: string;
  /** Shown in the broker's connection list; lets operators (and tests) find this connection. */
  connectionName?: string;
  logger?: TransportLogger;
  /** Attempts for the first connection before connect() rejects. @default 5 */
  connectAttempts?: number;
  /** @default 200 */
  reconnectInitialDelayMs?: number;
  /** @default 10000 */
  reconnectMaxDelayMs?: number;
  /** How long publish() and queue operations wait for the broker, across reconnects. @default 30000 */
  operationTimeoutMs?: number;
  /**
   * The broker's `max_message_size`, when known: larger bodies are refused without sending them.
   * @default learned from the broker's first refusal
   */
  maxMessageBytes?: number;
}

type PublishOutcome = 'confirmed' | 'returned' | 'nacked' | 'too_large' | 'lost';

/** The parts of amqplib's connection that writeFramesTogether reaches into (not in its types). */
interface AmqplibInternals {
  connection?: { muxer?: { _readIncoming?: () => void; out?: { cork(): void; uncork(): void } } };
}

/**
 * amqplib's muxer gives each frame (a publish, an ack, a confirm's delivery) its own socket write, and on
 * loopback each write is a syscall that runs the broker's receive path too. Corked for one pass of the
 * muxer, what a turn produced leaves in one write. Left as it is if amqplib's insides ever change shape.
 */
export function writeFramesTogether(model: ChannelModel): boolean {
  const muxer = (model as unknown as AmqplibInternals).connection?.muxer;
  const out = muxer?.out;
  const pass = muxer?._readIncoming;
  if (!muxer || !out || typeof pass !== 'function' || typeof out.cork !== 'function') return false;
  muxer._readIncoming = () => {
    out.cork();
    try {
      pass.call(muxer);
    } finally {
      out.uncork();
    }
  };
  return true;
}

export class RabbitMqTransport implements Transport {
  readonly kind = 'rabbitmq' as const;
  readonly exchange: string;
  readonly connectionName: string;
  private readonly log: TransportLogger;
  private readonly url: string;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly operationTimeoutMs: number;
  private model: ChannelModel | null = null;
  private connecting: Promise<ChannelModel> | null = null;
  private publisher: Promise<ConfirmChannel> | null = null;
  /** The publisher channel once open: a publish then needs no deadline (and no timer) to obtain it. */
  private openPublisher: ConfirmChannel | null = null;
  /** messageIds the broker returned as unroutable; read when their confirm arrives (returns come first). */
  private readonly returned = new Set<string>();
  /** Publisher channels the broker closed over a message's size, with the limit it named. */
  private readonly sizeRefusals = new WeakMap<ConfirmChannel, number>();
  private maxMessageBytes: number | undefined;
  private readonly consumers = new Set<RabbitConsumer>();
  private readonly owners = new WeakMap<Delivery, RabbitConsumer>();
  /** Holding queues this instance published to, per target: the only delays AMQP lets us count. */
  private readonly holding = new Map<string, Set<string>>();
  private readonly host: ConsumerHost;
  private closed = false;
  private readonly closing = new AbortController();

  static async connect(options: RabbitMqTransportOptions): Promise<RabbitMqTransport> {
    const transport = new RabbitMqTransport(options);
    transport.connecting = transport.establish(options.connectAttempts ?? 5).finally(() => {
      transport.connecting = null;
    });
    await transport.connecting;
    return transport;
  }

  private constructor(options: RabbitMqTransportOptions) {
    this.url = options.url;
    this.exchange = options.exchange ?? 'asya';
    this.connectionName = options.connectionName ?? `asya-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.log = options.logger ?? stderrLogger;
    this.initialDelayMs = options.reconnectInitialDelayMs ?? 200;
    this.maxDelayMs = options.reconnectMaxDelayMs ?? 10_000;
    this.operationTimeoutMs = options.operationTimeoutMs ?? 30_000;
    this.maxMessageBytes = options.maxMessageBytes;
    this.host = {
      log: this.log,
      openChannel: () => this.openChannel(),
      isClosed: () => this.closed,
      retryDelay: (attempt) => backoffDelay(attempt, this.initialDelayMs, this.maxDelayMs),
      adopt: (delivery, consumer) => this.owners.set(delivery, consumer),
      release: (consumer) => this.consumers.delete(consumer),
    };
  }

  get connected(): boolean {
    return this.model !== null;
  }

  async ensureQueue(queue: string, options: QueueOptions = {}): Promise<void> {
    this.assertOpen();
    const args = queueArguments(queue, options);
    if (options.maxDeliveries !== undefined) {
      const dlq = deadLetterQueueOf(queue);
      const retention = options.dlqRetentionMs !== undefined ? { 'x-message-ttl': Math.ceil(options.dlqRetentionMs) } : {};
      await this.declareQueue(dlq, { ...queueArguments(dlq), ...retention });
    }
    await this.declareQueue(queue, args);
  }

  async deleteQueue(queue: string): Promise<void> {
    this.assertOpen();
    for (const name of this.holding.get(queue) ?? []) await this.withChannel((ch) => ch.deleteQueue(name));
    this.holding.delete(queue);
    await this.withChannel((ch) => ch.deleteQueue(queue));
  }

  async queueDepth(queue: string): Promise<QueueDepth> {
    this.assertOpen();
    const main = await this.withChannel((ch) => ch.checkQueue(queue)).catch((err) => {
      throw mapError(err, `queue ${queue}`);
    });
    let delayed = 0;
    const names = this.holding.get(queue) ?? new Set<string>();
    for (const name of [...names]) {
      try {
        delayed += (await this.withChannel((ch) => ch.checkQueue(name))).messageCount;
      } catch (err) {
        if (amqpCode(err) !== 404) throw mapError(err, `queue ${name}`);
        names.delete(name);
      }
    }
    let inFlight = 0;
    for (const consumer of this.consumers) if (consumer.queue === queue) inFlight += consumer.inFlight;
    // For quorum and classic queues alike, declare-ok counts ready messages only.
    return { ready: main.messageCount, inFlight, delayed };
  }

  async publish(queue: string, body: Buffer, options: PublishOptions = {}): Promise<void> {
    this.assertOpen();
    // Sending a body the broker will refuse costs the publisher channel, and every publish in flight on it.
    if (this.maxMessageBytes !== undefined && body.length > this.maxMessageBytes) throw this.tooLarge(body, queue);
    const delayMs = options.delayMs ?? 0;
    if (delayMs <= 0) return this.confirmedPublish(this.exchange, actorFromQueue(queue), body, queue);
    const hold = holdingQueue(queue, bucketDelay(delayMs));
    try {
      await this.withChannel(async (ch) => {
        // A dead-lettered message to a missing queue vanishes, so refuse now rather than later.
        await ch.checkQueue(queue);
        await ch.assertQueue(hold.name, { durable: true, arguments: hold.arguments });
      });
    } catch (err) {
      if (amqpCode(err) === 404) throw new TransportError(`queue ${queue} does not exist`, 'unroutable', { cause: err });
      throw mapError(err, `holding queue ${hold.name}`);
    }
    let names = this.holding.get(queue);
    if (!names) this.holding.set(queue, (names = new Set()));
    names.add(hold.name);
    await this.confirmedPublish('', hold.name, body, queue);
  }

  async consume(queue: string, handler: DeliveryHandler, options?: ConsumeOptions): Promise<Consumer> {
    this.assertOpen();
    const consumer = new RabbitConsumer(this.host, queue, handler, concurrencyOf(options));
    try {
      await this.deadline(consumer.attach(), `consume ${queue}`);
    } catch (err) {
      // A subscribe that completes after the deadline must not leave a consumer nobody can stop.
      void consumer.stop();
      throw mapError(err, `queue ${queue}`);
    }
    this.consumers.add(consumer);
    return consumer;
  }

  async ack(delivery: Delivery): Promise<void> {
    this.ownerOf(delivery).settle(delivery, 'ack');
  }

  async nack(delivery: Delivery, options: { requeue?: boolean } = {}): Promise<void> {
    this.ownerOf(delivery).settle(delivery, options.requeue === false ? 'reject' : 'requeue');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    for (const consumer of this.consumers) consumer.abandon();
    await this.connecting?.catch(() => {});
    const model = this.model;
    this.model = null;
    if (model) await model.close().catch(() => {});
  }

  /** Destroys the socket under the connection, as a network failure would. For tests and chaos drills. */
  simulateConnectionLoss(): void {
    const stream = (this.model?.connection as { stream?: { destroy(err?: Error): void } } | undefined)?.stream;
    stream?.destroy(new Error('simulated network failure'));
  }

  private async declareQueue(queue: string, args: Record<string, unknown>): Promise<void> {
    const bind = (ch: Channel) => ch.bindQueue(queue, this.exchange, actorFromQueue(queue));
    try {
      await this.withChannel(async (ch) => {
        await ch.assertQueue(queue, { durable: true, arguments: args });
        await bind(ch);
      });
    } catch (err) {
      if (amqpCode(err) !== 406) throw mapError(err, `queue ${queue}`);
      // Typically a classic queue made by the original. Deleting it would lose users' messages, so we use it
      // as it is; its own arguments then decide delivery limit, DLQ and consumer timeout.
      this.log.warn('queue exists with other arguments; using it as it is', { queue, reason: errorText(err) });
      await this.withChannel(async (ch) => {
        await ch.checkQueue(queue);
        await bind(ch);
      }).catch((e) => {
        throw mapError(e, `queue ${queue}`);
      });
    }
  }

  private async confirmedPublish(exchange: string, routingKey: string, body: Buffer, queue: string): Promise<void> {
    const deadline = Date.now() + this.operationTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      // A channel opened on a connection that is dying fails ("Channel ended"): that is a lost channel too.
      const ch =
        this.openPublisher ??
        (await this.deadline(this.confirmChannel(), `publish to ${queue}`, deadline).catch((err: unknown) => {
          if (this.closed || err instanceof TransportError) throw err;
          return undefined;
        }));
      const outcome = ch ? await this.publishOnce(ch, exchange, routingKey, body) : 'lost';
      if (outcome === 'confirmed') return;
      if (outcome === 'returned') {
        throw new TransportError(`no queue bound for routing key ${routingKey} (queue ${queue})`, 'unroutable');
      }
      if (outcome === 'nacked') throw new TransportError(`broker refused the message for ${queue}`, 'rejected');
      if (outcome === 'too_large') throw this.tooLarge(body, queue);
      // The channel died before the confirm: the broker may or may not have the message. Publishing again
      // risks a duplicate, which at-least-once consumers absorb; giving up would push the retry onto the caller.
      if (Date.now() >= deadline) {
        throw new TransportError(`publish to ${queue} unconfirmed: connection lost`, 'unavailable');
      }
      this.log.warn('publish interrupted by a lost channel; publishing again', { queue, attempt });
      await sleep(backoffDelay(attempt, this.initialDelayMs, this.maxDelayMs), this.closing.signal);
      this.assertOpen();
    }
  }

  private publishOnce(ch: ConfirmChannel, exchange: string, routingKey: string, body: Buffer): Promise<PublishOutcome> {
    const messageId = randomUUID();
    return new Promise((resolve, reject) => {
      const settle = (err: unknown): void => {
        const returned = this.returned.delete(messageId);
        const sizeLimit = this.sizeRefusals.get(ch);
        if (returned) resolve('returned');
        else if (!err) resolve('confirmed');
        else if (errorText(err) === 'message nacked') resolve('nacked');
        // The broker names the limit, not the message: every larger one in flight was refused; the rest
        // were lost with the channel and are published again.
        else resolve(sizeLimit !== undefined && body.length > sizeLimit ? 'too_large' : 'lost');
      };
      try {
        ch.publish(
          exchange,
          routingKey,
          body,
          {
            mandatory: true,
            persistent: true,
            contentType: 'application/json',
            messageId,
            timestamp: Math.floor(Date.now() / 1000),
          },
          settle,
        );
      } catch (err) {
        this.returned.delete(messageId);
        if (asError(err).name === 'IllegalOperationError') resolve('lost');
        else reject(new TransportError(`publish failed: ${errorText(err)}`, 'rejected', { cause: err }));
      }
    });
  }

  private confirmChannel(): Promise<ConfirmChannel> {
    this.publisher ??= (async () => {
      const model = await this.connection();
      const ch = await model.createConfirmChannel();
      ch.on('error', (err: Error) => {
        // Emitted before the pending confirms fail, so publishOnce can tell a refusal from a lost channel.
        const limit = maxMessageSizeOfRefusal(err);
        if (limit !== undefined) {
          this.sizeRefusals.set(ch, limit);
          this.maxMessageBytes = Math.min(limit, this.maxMessageBytes ?? limit);
        }
        this.log.warn('publisher channel error', { error: errorText(err) });
      });
      // Cheap and rare: if someone deleted the exchange, publishes recover instead of failing until timeout.
      await ch.assertExchange(this.exchange, 'topic', { durable: true });
      ch.on('return', (message) => {
        const id: unknown = message.properties.messageId;
        if (typeof id === 'string') this.returned.add(id);
      });
      ch.on('close', () => {
        if (this.publisher === opened) this.publisher = null;
        if (this.openPublisher === ch) this.openPublisher = null;
      });
      this.openPublisher = ch;
      return ch;
    })();
    const opened = this.publisher;
    opened.catch(() => {
      if (this.publisher === opened) this.publisher = null;
    });
    return opened;
  }

  private async openChannel(): Promise<Channel> {
    const model = await this.connection();
    const ch = await model.createChannel();
    // Without an 'error' listener a channel closed by the broker would throw from the EventEmitter.
    ch.on('error', (err: Error) => this.log.warn('channel closed by broker', { error: errorText(err) }));
    return ch;
  }

  /** A short-lived channel: a failed declare (404/406) closes its channel, which must not hit anyone else. */
  private async withChannel<T>(fn: (ch: Channel) => Promise<T>): Promise<T> {
    const ch = await this.deadline(this.openChannel(), 'open channel');
    try {
      return await this.deadline(fn(ch), 'queue operation');
    } finally {
      closeQuietly(ch);
    }
  }

  private connection(): Promise<ChannelModel> {
    if (this.closed) return Promise.reject(closedError());
    if (this.model) return Promise.resolve(this.model);
    this.connecting ??= this.establish(Infinity).finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async establish(maxAttempts: number): Promise<ChannelModel> {
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw closedError();
      let model: ChannelModel | undefined;
      try {
        // noDelay: amqplib leaves Nagle's algorithm on, which holds a small frame (an ack, a publish) back
        // until the broker acknowledges the previous one, up to its 40 ms delayed ACK; a hop writes several.
        model = await amqp.connect(this.url, { noDelay: true, clientProperties: { connection_name: this.connectionName } });
        writeFramesTogether(model);
        model.on('error', (err: Error) => this.log.warn('rabbitmq connection error', { error: errorText(err) }));
        const opened = model;
        model.on('close', (err?: Error) => this.onConnectionClosed(opened, err));
        model.on('blocked', (reason: string) => this.log.warn('broker blocked publishing', { reason }));
        if (this.closed) throw closedError();
        const ch = await model.createChannel();
        await ch.assertExchange(this.exchange, 'topic', { durable: true });
        closeQuietly(ch);
        this.model = model;
        if (attempt > 1) this.log.info('rabbitmq connected', { attempt });
        return model;
      } catch (err) {
        if (model && model !== this.model) await model.close().catch(() => {});
        if (this.closed) throw closedError();
        if (attempt >= maxAttempts) {
          throw new TransportError(`cannot connect to RabbitMQ: ${errorText(err)}`, 'unavailable', { cause: err });
        }
        const delayMs = backoffDelay(attempt, this.initialDelayMs, this.maxDelayMs);
        this.log.warn('rabbitmq connect failed; retrying', { attempt, delayMs, error: errorText(err) });
        await sleep(delayMs, this.closing.signal);
      }
    }
  }

  private onConnectionClosed(model: ChannelModel, err: Error | undefined): void {
    if (this.model !== model) return;
    this.model = null;
    this.publisher = null;
    this.openPublisher = null;
    if (this.closed) return;
    this.log.warn('rabbitmq connection lost; reconnecting', { error: err ? errorText(err) : 'closed' });
    // Reconnect now rather than on the next call, so consumers resume without waiting for traffic.
    this.connection().catch((e) => this.log.error('rabbitmq reconnect gave up', { error: errorText(e) }));
  }

  private deadline<T>(work: Promise<T>, what: string, at = Date.now() + this.operationTimeoutMs): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new TransportError(`${what}: broker unavailable`, 'unavailable')),
        Math.max(0, at - Date.now()),
      );
    });
    work.catch(() => {});
    return Promise.race([work, expired]).finally(() => clearTimeout(timer));
  }

  private tooLarge(body: Buffer, queue: string): TransportError {
    return new TransportError(`message of ${body.length} bytes for ${queue} exceeds the broker's max_message_size of ${this.maxMessageBytes} bytes`, 'too_large');
  }

  private ownerOf(delivery: Delivery): RabbitConsumer {
    const owner = this.owners.get(delivery);
    if (!owner) throw new TypeError('not a delivery of this RabbitMqTransport');
    return owner;
  }

  private assertOpen(): void {
    if (this.closed) throw closedError();
  }
}

function closedError(): TransportError {
  return new TransportError('transport is closed', 'closed');
}

function mapError(err: unknown, what: string): unknown {
  if (err instanceof TransportError) return err;
  const code = amqpCode(err);
  if (code === 404) return new TransportError(`${what} does not exist`, 'not_found', { cause: err });
  if (code === 406) return new TransportError(`${what}: ${errorText(err)}`, 'rejected', { cause: err });
  return new TransportError(`${what}: ${errorText(err)}`, 'unavailable', { cause: err });
}
