/**
 * NATS JetStream transport (@nats-io/transport-node + @nats-io/jetstream; tested against nats-server 2.9 on
 * 127.0.0.1:4222). The queue ↔ stream mapping is in nats-topology.ts; docs/transports.md explains it.
 */
import {
  jetstream,
  jetstreamManager,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { connect, errors as natsErrors, headers, type NatsConnection } from '@nats-io/transport-node';
import { concurrencyOf } from '../dispatch.ts';
import { errorText, stderrLogger, type TransportLogger } from '../log.ts';
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
import { deliveryCountOf, NatsConsumer, type NatsConsumerHost } from './nats-consumer.ts';
import {
  assertQueueName,
  CONSUMER_NAME,
  consumerConfig,
  DELIVERIES_HEADER,
  delayedConsumerConfig,
  delayedStreamConfig,
  delayedStreamOf,
  delayedSubject,
  maxDeliveriesOf,
  queueSubject,
  streamConfig,
  type NatsTopologySettings,
} from './nats-topology.ts';

export interface NatsTransportOptions {
  /** @default 'nats://localhost:4222' */
  url?: string;
  username?: string;
  password?: string;
  token?: string;
  /** Shown by the server's connection list. */
  connectionName?: string;
  /** @default 1 */
  replicas?: number;
  /** @default 30000 */
  ackWaitMs?: number;
  /** How long one pull waits on the server; also the longest a stopping consumer waits for it. @default 2000 */
  fetchExpiresMs?: number;
  /** How long a JetStream API call or publish may take. @default 30000 */
  apiTimeoutMs?: number;
  logger?: TransportLogger;
}

interface DeliveryState {
  readonly msg: JsMsg;
  readonly maxDeliveries: number | undefined;
  settled: boolean;
}

export class NatsTransport implements Transport {
  readonly kind = 'nats' as const;
  private readonly states = new WeakMap<Delivery, DeliveryState>();
  private readonly consumers = new Set<NatsConsumer>();
  private readonly host: NatsConsumerHost;
  private closed = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly topology: NatsTopologySettings,
    private readonly fetchExpiresMs: number,
    private readonly log: TransportLogger,
  ) {
    this.host = {
      log,
      adopt: (queue, msg, maxDeliveries) => this.adopt(queue, msg, maxDeliveries),
      isSettled: (delivery) => this.states.get(delivery)?.settled ?? true,
      requeue: (delivery) => this.nack(delivery, { requeue: true }),
      giveBack: (queue, msg) => this.requeue(queue, msg, deliveryCountOf(msg) - 1),
      deadLetterOnArrival: (queue, msg) => this.moveToDeadLetter(queue, msg, 'delivery limit passed while unacked'),
      release: (queue, msg) => this.release(queue, msg),
      forget: (consumer) => this.consumers.delete(consumer),
    };
  }

  static async connect(options: NatsTransportOptions = {}): Promise<NatsTransport> {
    const log = options.logger ?? stderrLogger;
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: (options.url ?? 'nats://localhost:4222').split(',').map((s) => s.trim()).filter(Boolean),
        ...(options.username !== undefined ? { user: options.username, pass: options.password ?? '' } : {}),
        ...(options.token !== undefined ? { token: options.token } : {}),
        ...(options.connectionName ? { name: options.connectionName } : {}),
        // A sidecar outlives broker restarts: reconnect for as long as it runs.
        maxReconnectAttempts: -1,
      });
    } catch (err) {
      throw new TransportError(`cannot connect to NATS at ${options.url ?? 'nats://localhost:4222'}: ${errorText(err)}`, 'unavailable', { cause: err });
    }
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === 'disconnect' || status.type === 'reconnect') log.warn(`nats ${status.type}`, { server: status.server });
      }
    })();
    const topology = { replicas: options.replicas ?? 1, ackWaitMs: options.ackWaitMs ?? 30_000 };
    // Creating a file-backed stream on a busy disk can take longer than the client's 5 s default.
    const api = { timeout: options.apiTimeoutMs ?? 30_000 };
    return new NatsTransport(nc, jetstream(nc, api), await jetstreamManager(nc, api), topology, options.fetchExpiresMs ?? 2000, log);
  }

  /** The server's max_payload: the largest body a publish carries. */
  get maxMessageBytes(): number {
    return this.nc.info?.max_payload ?? 1024 * 1024;
  }

  async ensureQueue(queue: string, options: QueueOptions = {}): Promise<void> {
    this.assertOpen();
    assertQueueName(queue);
    const config = consumerConfig(this.topology, options);
    if (options.maxDeliveries !== undefined) await this.ensureStreams(deadLetterQueueOf(queue), consumerConfig(this.topology));
    await this.ensureStreams(queue, config);
  }

  async deleteQueue(queue: string): Promise<void> {
    for (const stream of [queue, delayedStreamOf(queue)]) {
      await this.call(`delete ${stream}`, () => this.jsm.streams.delete(stream)).catch((err: unknown) => {
        if (!(err instanceof TransportError && err.reason === 'not_found')) throw err;
      });
    }
  }

  async queueDepth(queue: string): Promise<QueueDepth> {
    this.assertOpen();
    return this.call(`depth of ${queue}`, async () => {
      const stream = await this.jsm.streams.info(queue);
      const consumer = await this.jsm.consumers.info(queue, CONSUMER_NAME);
      const delayed = await this.jsm.streams.info(delayedStreamOf(queue)).catch(() => undefined);
      // Work-queue retention: the stream holds exactly the messages not yet acked.
      const inFlight = Math.min(consumer.num_ack_pending, stream.state.messages);
      return { ready: stream.state.messages - inFlight, inFlight, delayed: delayed?.state.messages ?? 0 };
    });
  }

  async publish(queue: string, body: Buffer, options: PublishOptions = {}): Promise<void> {
    this.assertOpen();
    const delayMs = options.delayMs ?? 0;
    const subject = delayMs > 0 ? delayedSubject(queue, Date.now() + delayMs) : queueSubject(queue);
    await this.send(queue, subject, body);
  }

  async consume(queue: string, handler: DeliveryHandler, options?: ConsumeOptions): Promise<Consumer> {
    this.assertOpen();
    const concurrency = concurrencyOf(options);
    const { queueConsumer, delayedConsumer, maxDeliveries } = await this.call(`consume ${queue}`, async () => {
      const queueConsumer = await this.js.consumers.get(queue, CONSUMER_NAME);
      const info = await queueConsumer.info(true);
      const delayedConsumer = await this.js.consumers.get(delayedStreamOf(queue), CONSUMER_NAME);
      return { queueConsumer, delayedConsumer, maxDeliveries: maxDeliveriesOf(info.config.description) };
    });
    const consumer = new NatsConsumer(this.host, queue, queueConsumer, delayedConsumer, handler, concurrency, {
      fetchExpiresMs: this.fetchExpiresMs,
      ackWaitMs: this.topology.ackWaitMs,
      maxDeliveries,
    });
    this.consumers.add(consumer);
    consumer.start();
    return consumer;
  }

  async ack(delivery: Delivery): Promise<void> {
    const state = this.settle(delivery);
    if (!state) return;
    await this.confirmAck(delivery.queue, state.msg);
  }

  async nack(delivery: Delivery, options: { requeue?: boolean } = {}): Promise<void> {
    const state = this.settle(delivery);
    if (!state) return;
    const { msg, maxDeliveries } = state;
    if (maxDeliveries !== undefined && (options.requeue === false || msg.info.deliveryCount >= maxDeliveries)) {
      return this.moveToDeadLetter(delivery.queue, msg, options.requeue === false ? 'rejected' : 'delivery limit reached');
    }
    if (options.requeue === false) {
      this.log.warn('message discarded: queue has no DLQ', { queue: delivery.queue, messageId: delivery.messageId });
      return this.confirmAck(delivery.queue, msg);
    }
    await this.requeue(delivery.queue, msg, delivery.deliveryCount);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const consumer of this.consumers) consumer.abandon();
    await this.nc.close().catch(() => {});
  }

  private adopt(queue: string, msg: JsMsg, maxDeliveries: number | undefined): Delivery {
    const delivery: Delivery = Object.freeze({
      queue,
      body: Buffer.from(msg.data),
      deliveryCount: deliveryCountOf(msg),
      messageId: `${msg.info.stream}:${msg.seq}`,
    });
    this.states.set(delivery, { msg, maxDeliveries, settled: false });
    return delivery;
  }

  private settle(delivery: Delivery): DeliveryState | undefined {
    const state = this.states.get(delivery);
    if (!state) throw new TypeError('not a delivery of this NatsTransport');
    if (state.settled) return undefined;
    state.settled = true;
    if (this.closed) {
      this.log.warn('ack/nack after close ignored; the message comes back after its ack wait', { queue: delivery.queue });
      return undefined;
    }
    return state;
  }

  /** The copy goes out (confirmed) before the original is acked: a crash in between duplicates, never loses. */
  private async moveToDeadLetter(queue: string, msg: JsMsg, why: string): Promise<void> {
    const dlq = deadLetterQueueOf(queue);
    await this.send(dlq, queueSubject(dlq), Buffer.from(msg.data));
    this.log.warn(`message moved to ${dlq}: ${why}`, { queue, deliveryCount: deliveryCountOf(msg) });
    await this.confirmAck(queue, msg);
  }

  /** The copy, carrying `deliveries` so far, goes out before the original is acked (see nats-topology.ts). */
  private async requeue(queue: string, msg: JsMsg, deliveries: number): Promise<void> {
    const h = headers();
    h.set(DELIVERIES_HEADER, String(deliveries));
    try {
      await this.js.publish(queueSubject(queue), msg.data, { headers: h });
    } catch (err) {
      // No room for the header (a body at max_payload), or the publish failed: the server's own redelivery
      // still works, it only leaves the message counted as pending until a consumer pulls again.
      this.log.warn('requeue by publish failed; nak instead', { queue, error: errorText(err) });
      msg.nak();
      await this.nc.flush();
      return;
    }
    await this.confirmAck(queue, msg);
  }

  private async release(queue: string, msg: JsMsg): Promise<void> {
    await this.send(queue, queueSubject(queue), Buffer.from(msg.data));
    await this.confirmAck(delayedStreamOf(queue), msg);
  }

  private async confirmAck(queue: string, msg: JsMsg): Promise<void> {
    // ackAck waits for the server's answer, so "acked" means the message has left the work queue.
    await this.call(`ack on ${queue}`, () => msg.ackAck()).catch((err: unknown) => {
      // The server took the message back (ack wait passed, consumer gone): someone else may hold it now.
      this.log.warn('ack not confirmed; the message may be delivered again', { queue, error: errorText(err) });
    });
  }

  private async send(queue: string, subject: string, body: Buffer): Promise<void> {
    if (body.length > this.maxMessageBytes) {
      throw new TransportError(`message of ${body.length} bytes exceeds the NATS max_payload of ${this.maxMessageBytes}`, 'too_large');
    }
    try {
      await this.js.publish(subject, body);
    } catch (err) {
      // No stream listens on the subject: the queue does not exist, now or on a retry.
      if (causedByNoResponders(err)) {
        throw new TransportError(`queue ${queue} does not exist`, 'unroutable', { cause: err });
      }
      throw mapNatsError(err, `publish to ${queue}`);
    }
  }

  /** The queue's stream and its delayed stream, each with its durable consumer. */
  private async ensureStreams(queue: string, consumer: ReturnType<typeof consumerConfig>): Promise<void> {
    await this.call(`create ${queue}`, async () => {
      await this.upsertStream(streamConfig(queue, this.topology));
      await this.upsertConsumer(queue, consumer);
      await this.upsertStream(delayedStreamConfig(queue, this.topology));
      await this.upsertConsumer(delayedStreamOf(queue), delayedConsumerConfig(this.topology));
    });
  }

  private async upsertConsumer(stream: string, config: ReturnType<typeof consumerConfig>): Promise<void> {
    try {
      await this.jsm.consumers.add(stream, config);
    } catch (err) {
      // Same durable, other settings (e.g. a new maxDeliveries): update it in place, keeping its position.
      if (!(err instanceof JetStreamApiError)) throw err;
      await this.jsm.consumers.update(stream, CONSUMER_NAME, config);
    }
  }

  private async upsertStream(config: ReturnType<typeof streamConfig>): Promise<void> {
    try {
      await this.jsm.streams.info(config.name);
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) {
        await this.jsm.streams.add(config);
        return;
      }
      throw err;
    }
    await this.jsm.streams.update(config.name, config);
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw mapNatsError(err, what);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new TransportError('transport is closed', 'closed');
  }
}

function causedByNoResponders(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause) if (e instanceof natsErrors.NoRespondersError) return true;
  return false;
}

export function mapNatsError(err: unknown, what: string): TransportError {
  if (err instanceof TransportError) return err;
  if (err instanceof JetStreamApiError) {
    if (err.code === JetStreamApiCodes.StreamNotFound || err.code === JetStreamApiCodes.ConsumerNotFound) {
      return new TransportError(`${what}: queue does not exist`, 'not_found', { cause: err });
    }
    return new TransportError(`${what}: ${err.message}`, 'rejected', { cause: err });
  }
  if (err instanceof natsErrors.ClosedConnectionError) return new TransportError(`${what}: connection closed`, 'closed', { cause: err });
  return new TransportError(`${what}: ${errorText(err)}`, 'unavailable', { cause: err });
}
