/**
 * One NATS JetStream consumer of a queue: a pull loop that fetches only as many messages as it has free
 * handler slots (nothing waits behind a busy handler with its ack clock running), in-progress acks while a
 * handler runs, and a second loop that moves due delayed messages into the queue.
 */
import type { Consumer as JsConsumer, JsMsg } from '@nats-io/jetstream';
import { backoffDelay, HandlerPool, runHandler, sleep } from '../dispatch.ts';
import { errorText, type TransportLogger } from '../log.ts';
import type { Consumer, Delivery, DeliveryHandler } from '../transport.ts';
import { deliveriesOf, DELIVERIES_HEADER, dueAtOf } from './nats-topology.ts';

export const deliveryCountOf = (msg: JsMsg): number => deliveriesOf(msg.headers?.get(DELIVERIES_HEADER) || undefined, msg.info.deliveryCount);

export interface NatsConsumerHost {
  readonly log: TransportLogger;
  /** Wraps a fetched message in a Delivery that ack/nack can find. */
  adopt(queue: string, msg: JsMsg, maxDeliveries: number | undefined): Delivery;
  isSettled(delivery: Delivery): boolean;
  requeue(delivery: Delivery): Promise<void>;
  /** Publishes a message this consumer received but will not start back to the queue, its count unchanged. */
  giveBack(queue: string, msg: JsMsg): Promise<void>;
  /** A message that arrives with more deliveries than the queue allows (its consumer crashed): to the DLQ. */
  deadLetterOnArrival(queue: string, msg: JsMsg): Promise<void>;
  /** Publishes a due delayed message into its queue, then acks the delayed copy. */
  release(queue: string, msg: JsMsg): Promise<void>;
  forget(consumer: NatsConsumer): void;
}

export interface NatsConsumerSettings {
  /** How long a fetch waits on the server for messages before the loop asks again. */
  fetchExpiresMs: number;
  ackWaitMs: number;
  maxDeliveries: number | undefined;
}

/** Every delayed message a consumer holds at once (each waits on the server through nak with its delay). */
const DELAYED_BATCH = 256;

export class NatsConsumer implements Consumer {
  private readonly pool: HandlerPool;
  private stopped = false;
  private readonly stopping = new AbortController();
  private readonly chores = new Set<Promise<void>>();
  private loops: Promise<void>[] = [];

  constructor(
    private readonly host: NatsConsumerHost,
    readonly queue: string,
    private readonly queueConsumer: JsConsumer,
    private readonly delayedConsumer: JsConsumer,
    private readonly handler: DeliveryHandler,
    concurrency: number,
    private readonly settings: NatsConsumerSettings,
  ) {
    this.pool = new HandlerPool(concurrency);
  }

  start(): void {
    this.loops = [this.pullQueue(), this.pullDelayed()];
  }

  async stop(): Promise<void> {
    // A fetch in flight may already have been given messages; it is allowed to end (at most fetchExpiresMs)
    // and accept() hands whatever it brings straight back.
    this.stopped = true;
    this.stopping.abort();
    this.pool.wakeAll();
    await Promise.all(this.loops);
    await Promise.allSettled([...this.chores]);
    await this.pool.drain();
    this.host.forget(this);
  }

  /** Stops fetching without waiting (the connection is closing): unacked messages come back after ack wait. */
  abandon(): void {
    this.stopped = true;
    this.stopping.abort();
    this.pool.wakeAll();
  }

  private async pullQueue(): Promise<void> {
    await this.pullLoop('fetch', () => this.pool.waitForSlot().then(() => this.pool.free), (msg) => this.accept(msg));
  }

  private async pullDelayed(): Promise<void> {
    await this.pullLoop('delayed fetch', async () => DELAYED_BATCH, (msg) => this.move(msg), this.delayedConsumer);
  }

  private async pullLoop(
    what: string,
    room: () => Promise<number>,
    take: (msg: JsMsg) => void,
    consumer: JsConsumer = this.queueConsumer,
  ): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      const max = await room();
      if (this.stopped) break;
      try {
        const batch = await consumer.fetch({ max_messages: max, expires: this.settings.fetchExpiresMs });
        for await (const msg of batch) take(msg);
        failures = 0;
      } catch (err) {
        if (this.stopped) break;
        failures++;
        const delayMs = backoffDelay(failures, 500, 30_000);
        this.host.log.warn(`nats ${what} failed; retrying`, { queue: this.queue, delayMs, error: errorText(err) });
        await sleep(delayMs, this.stopping.signal);
      }
    }
  }

  private accept(msg: JsMsg): void {
    if (this.stopped || this.pool.free <= 0) {
      this.chore(this.host.giveBack(this.queue, msg));
      return;
    }
    const max = this.settings.maxDeliveries;
    if (max !== undefined && deliveryCountOf(msg) > max) {
      this.chore(this.host.deadLetterOnArrival(this.queue, msg));
      return;
    }
    const delivery = this.host.adopt(this.queue, msg, max);
    // In-progress acks restart the server's ack-wait clock, so a long handler keeps its message.
    const timer = setInterval(() => {
      if (this.host.isSettled(delivery)) return clearInterval(timer);
      try {
        msg.working();
      } catch (err) {
        // The connection is closing or gone: the server takes the message back after its ack wait.
        this.host.log.warn('in-progress ack failed', { queue: this.queue, error: errorText(err) });
      }
    }, Math.max(100, Math.floor(this.settings.ackWaitMs / 3)));
    this.pool.start(async (slot) => {
      try {
        await runHandler(
          this.handler,
          delivery,
          { isSettled: () => this.host.isSettled(delivery), requeue: () => this.host.requeue(delivery) },
          this.host.log,
          slot,
        );
      } finally {
        clearInterval(timer);
      }
    });
  }

  private move(msg: JsMsg): void {
    const waitMs = dueAtOf(msg.subject) - Date.now();
    if (this.stopped) msg.nak(Math.max(0, waitMs));
    else if (waitMs > 0) msg.nak(waitMs);
    else this.chore(this.host.release(this.queue, msg));
  }

  private chore(work: Promise<void>): void {
    const tracked = work
      .catch((err) => this.host.log.warn('nats housekeeping failed', { queue: this.queue, error: errorText(err) }))
      .finally(() => this.chores.delete(tracked));
    this.chores.add(tracked);
  }
}
