/**
 * One RabbitMQ consumer: its own channel (so prefetch and cancel are per consumer), a local handler cap, and
 * the bookkeeping that keeps acks on the channel that delivered the message.
 */
import type { Channel, ConsumeMessage } from 'amqplib';
import { HandlerPool, runHandler, sleep } from '../dispatch.ts';
import { errorText, type TransportLogger } from '../log.ts';
import { deliveryCountOf } from './rabbitmq-topology.ts';
import type { Consumer, Delivery, DeliveryHandler } from '../transport.ts';

export interface ConsumerHost {
  readonly log: TransportLogger;
  openChannel(): Promise<Channel>;
  isClosed(): boolean;
  retryDelay(attempt: number): number;
  adopt(delivery: Delivery, consumer: RabbitConsumer): void;
  release(consumer: RabbitConsumer): void;
}

export type Settlement = 'ack' | 'requeue' | 'reject';

/**
 * The broker's prefetch window for a consumer of `concurrency` handlers: one more than the handlers, so the
 * next message is already here when a handler finishes, instead of one broker round trip (and, on a busy
 * machine, two process wake-ups) later. At concurrency 1 that gap was a hop's largest wait: in bench/e2e
 * the pipeline held 160 calls/s with it and 120/s without (docs/performance.md). The extra message waits
 * in `buffered`; a stop gives it back, which a quorum queue counts as a delivery (rabbitmq-topology.ts).
 */
export function prefetchFor(concurrency: number): number {
  return concurrency + 1;
}

interface DeliveryState {
  readonly channel: Channel;
  readonly message: ConsumeMessage;
  settled: boolean;
  /** The channel died before settlement, so the broker has already put the message back. */
  returned: boolean;
}

export class RabbitConsumer implements Consumer {
  private channel: Channel | null = null;
  private consumerTag: string | undefined;
  private readonly pool: HandlerPool;
  private readonly buffered: Delivery[] = [];
  private readonly states = new WeakMap<Delivery, DeliveryState>();
  private readonly unsettled = new Set<Delivery>();
  private stopped = false;
  private attachedOnce = false;
  private reattaching = false;
  private readonly stopping = new AbortController();

  constructor(
    private readonly host: ConsumerHost,
    readonly queue: string,
    private readonly handler: DeliveryHandler,
    private readonly concurrency: number,
  ) {
    this.pool = new HandlerPool(concurrency, () => this.pump());
  }

  /** Delivered and not yet settled on a live channel: what this process holds of the queue. */
  get inFlight(): number {
    return this.unsettled.size;
  }

  async attach(): Promise<void> {
    const ch = await this.host.openChannel();
    // Set before consume: deliveries can be dispatched before consume()'s promise continuation runs.
    this.channel = ch;
    ch.on('close', () => this.onChannelClosed(ch));
    try {
      await ch.prefetch(prefetchFor(this.concurrency));
      const { consumerTag } = await ch.consume(this.queue, (message) => this.onMessage(ch, message), { noAck: false });
      this.consumerTag = consumerTag;
      this.attachedOnce = true;
      // stop() or abandon() ran while we subscribed and saw no channel to cancel.
      if (this.stopped) throw new Error('consumer stopped while subscribing');
    } catch (err) {
      if (this.channel === ch) this.channel = null;
      closeQuietly(ch);
      throw err;
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopping.abort();
    const ch = this.channel;
    if (ch && this.consumerTag) {
      try {
        await ch.cancel(this.consumerTag);
      } catch (err) {
        this.host.log.warn('basic.cancel failed; the channel close below returns the messages', {
          queue: this.queue,
          error: errorText(err),
        });
      }
    }
    await this.pool.drain();
    for (const delivery of this.buffered.splice(0)) this.settle(delivery, 'requeue');
    this.channel = null;
    // Awaited: the broker answers a channel's close after the frames sent before it, so once stop()
    // resolves the messages given back are back (a depth read right after sees them: `asya dlq list`
    // followed at once by `asya dlq replay` found an empty queue otherwise).
    if (ch) await closeAndWait(ch);
    this.host.release(this);
  }

  /** Transport close: no drain; the connection close hands every unsettled message back to the broker. */
  abandon(): void {
    this.stopped = true;
    this.stopping.abort();
    this.buffered.length = 0;
  }

  settle(delivery: Delivery, how: Settlement): void {
    const state = this.states.get(delivery);
    if (!state || state.settled) return;
    state.settled = true;
    this.unsettled.delete(delivery);
    const fields = { queue: this.queue, messageId: delivery.messageId, settlement: how };
    if (state.returned) {
      this.host.log.warn('stale delivery: its channel is gone and the broker requeued it; settlement ignored', fields);
      return;
    }
    try {
      if (how === 'ack') state.channel.ack(state.message);
      else state.channel.nack(state.message, false, how === 'requeue');
    } catch (err) {
      // The channel is closing under us; the broker requeues the message with the rest of the channel.
      state.returned = true;
      this.host.log.warn('stale delivery: channel closed during settlement; ignored', { ...fields, error: errorText(err) });
    }
  }

  isSettled(delivery: Delivery): boolean {
    const state = this.states.get(delivery);
    return !state || state.settled || state.returned;
  }

  private onMessage(ch: Channel, message: ConsumeMessage | null): void {
    if (message === null) {
      // Server-side cancel (queue deleted, or a quorum leader moved): get a fresh subscription.
      this.host.log.warn('broker cancelled the consumer; re-subscribing', { queue: this.queue });
      if (this.channel === ch) {
        this.channel = null;
        this.returnAll(ch);
        closeQuietly(ch);
        void this.reattach();
      }
      return;
    }
    message.content = ownBytes(message.content);
    const delivery: Delivery = Object.freeze({
      queue: this.queue,
      body: message.content,
      deliveryCount: deliveryCountOf(message),
      ...(typeof message.properties.messageId === 'string' ? { messageId: message.properties.messageId } : {}),
    });
    this.states.set(delivery, { channel: ch, message, settled: false, returned: false });
    this.unsettled.add(delivery);
    this.host.adopt(delivery, this);
    if (this.stopped) {
      // Sent between our basic.cancel and its cancel-ok.
      this.settle(delivery, 'requeue');
      return;
    }
    this.buffered.push(delivery);
    this.pump();
  }

  private pump(): void {
    while (!this.stopped && this.pool.free > 0 && this.buffered.length > 0) {
      const delivery = this.buffered.shift()!;
      if (this.isSettled(delivery)) continue;
      this.pool.start((slot) =>
        runHandler(
          this.handler,
          delivery,
          { isSettled: () => this.isSettled(delivery), requeue: async () => this.settle(delivery, 'requeue') },
          this.host.log,
          slot,
        ),
      );
    }
  }

  private onChannelClosed(ch: Channel): void {
    this.returnAll(ch);
    if (this.channel !== ch) return;
    this.channel = null;
    if (!this.stopped && this.attachedOnce && !this.host.isClosed()) void this.reattach();
  }

  /** Everything this channel delivered and we did not settle is back on the broker; forget it here. */
  private returnAll(ch: Channel): void {
    for (const delivery of [...this.unsettled]) {
      const state = this.states.get(delivery);
      if (state?.channel !== ch) continue;
      state.returned = true;
      this.unsettled.delete(delivery);
    }
    for (let i = this.buffered.length - 1; i >= 0; i--) {
      if (this.states.get(this.buffered[i]!)?.returned) this.buffered.splice(i, 1);
    }
  }

  private async reattach(): Promise<void> {
    if (this.reattaching) return;
    this.reattaching = true;
    try {
      for (let attempt = 1; !this.stopped && !this.host.isClosed(); attempt++) {
        try {
          await this.attach();
          this.host.log.info('consumer resumed', { queue: this.queue, attempt });
          return;
        } catch (err) {
          const delayMs = this.host.retryDelay(attempt);
          this.host.log.warn('consumer re-subscribe failed; retrying', { queue: this.queue, attempt, delayMs, error: errorText(err) });
          await sleep(delayMs, this.stopping.signal);
        }
      }
    } finally {
      this.reattaching = false;
    }
  }
}

/** How long a stop waits for the broker to confirm a channel's close; a dead connection never answers. */
const CLOSE_WAIT_MS = 5_000;

/**
 * amqplib hands out a message's body as a view into the socket read it arrived in, often 64 KiB holding many
 * messages. A delivery outlives the read (the runtime call takes milliseconds), is promoted to the old generation
 * with it, and keeps the whole read alive until a full collection: at concurrency 8 that was most of the sidecar's
 * growth under load. A body that is most of its buffer (a large message, assembled by amqplib) is kept as it is.
 */
function ownBytes(view: Buffer): Buffer {
  if (view.byteLength * 2 > view.buffer.byteLength) return view;
  const copy = Buffer.allocUnsafeSlow(view.byteLength);
  view.copy(copy);
  return copy;
}

async function closeAndWait(ch: Channel): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)));
  try {
    await Promise.race([ch.close().catch(() => {}), gaveUp]);
  } finally {
    clearTimeout(timer);
  }
}

export function closeQuietly(ch: Channel): void {
  Promise.resolve()
    .then(() => ch.close())
    .catch(() => {});
}
