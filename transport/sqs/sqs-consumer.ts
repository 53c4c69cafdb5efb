/**
 * One SQS consumer: a long-poll loop that asks only for as many messages as it has free handler slots, so
 * nothing is received and left waiting (and its visibility clock running) behind a busy handler.
 */
import { ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { backoffDelay, HandlerPool, runHandler, sleep } from '../dispatch.ts';
import { errorText, type TransportLogger } from '../log.ts';
import { heartbeatIntervalMs, remainingDelayOf } from './sqs-policy.ts';
import type { Consumer, Delivery, DeliveryHandler } from '../transport.ts';

export interface SqsConsumerHost {
  readonly client: SQSClient;
  readonly log: TransportLogger;
  /** Wraps a received message in a Delivery that ack/nack can find. */
  adopt(queue: string, url: string, message: Message, heartbeat: () => void): Delivery;
  isSettled(delivery: Delivery): boolean;
  requeue(delivery: Delivery): Promise<void>;
  /** Visibility 0 for a message we received but will not handle. */
  release(url: string, receiptHandle: string): Promise<void>;
  extend(url: string, receiptHandle: string, seconds: number): Promise<void>;
  /** Publishes the message again with the delay it still owes, then deletes this copy. */
  redelay(queue: string, url: string, message: Message, remainingMs: number): Promise<void>;
  forget(consumer: SqsConsumer): void;
}

export interface SqsConsumerSettings {
  waitTimeSeconds: number;
  visibilitySeconds: number;
}

export class SqsConsumer implements Consumer {
  private readonly pool: HandlerPool;
  private stopped = false;
  private readonly stopping = new AbortController();
  private poll: AbortController | undefined;
  private readonly chores = new Set<Promise<void>>();
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly host: SqsConsumerHost,
    readonly queue: string,
    private readonly url: string,
    private readonly handler: DeliveryHandler,
    concurrency: number,
    private readonly settings: SqsConsumerSettings,
  ) {
    this.pool = new HandlerPool(concurrency);
  }

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    // Unlike abandon(), the receive in flight is allowed to finish (at most waitTimeSeconds): SQS may already
    // have handed it messages, and aborting would hide them until their visibility timeout. accept() gives
    // whatever it brings straight back to the queue.
    this.stopped = true;
    this.stopping.abort();
    this.pool.wakeAll();
    await this.loop;
    await Promise.allSettled([...this.chores]);
    await this.pool.drain();
    this.host.forget(this);
  }

  /** Stops polling without waiting; handlers still running keep their heartbeats until they settle. */
  abandon(): void {
    this.stopped = true;
    this.stopping.abort();
    // A receive aborted after SQS answered leaves its messages invisible until the visibility timeout ends:
    // late, never lost.
    this.poll?.abort();
    this.pool.wakeAll();
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      await this.pool.waitForSlot();
      if (this.stopped) break;
      this.poll = new AbortController();
      let messages: Message[];
      try {
        const out = await this.host.client.send(
          new ReceiveMessageCommand({
            QueueUrl: this.url,
            MaxNumberOfMessages: Math.min(10, this.pool.free),
            WaitTimeSeconds: this.settings.waitTimeSeconds,
            VisibilityTimeout: this.settings.visibilitySeconds,
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: this.poll.signal },
        );
        messages = out.Messages ?? [];
        failures = 0;
      } catch (err) {
        if (this.stopped) break;
        failures++;
        const delayMs = backoffDelay(failures, 500, 30_000);
        this.host.log.warn('sqs receive failed; retrying', { queue: this.queue, delayMs, error: errorText(err) });
        await sleep(delayMs, this.stopping.signal);
        continue;
      }
      for (const message of messages) this.accept(message);
    }
  }

  private accept(message: Message): void {
    const receiptHandle = message.ReceiptHandle;
    if (!receiptHandle) return;
    if (this.stopped || this.pool.free <= 0) {
      this.chore(this.host.release(this.url, receiptHandle));
      return;
    }
    const remainingMs = remainingDelayOf(message.MessageAttributes);
    if (remainingMs > 0) {
      this.chore(this.host.redelay(this.queue, this.url, message, remainingMs));
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const stopHeartbeat = (): void => clearInterval(timer);
    const delivery = this.host.adopt(this.queue, this.url, message, stopHeartbeat);
    timer = setInterval(() => {
      if (this.host.isSettled(delivery)) return stopHeartbeat();
      this.host.extend(this.url, receiptHandle, this.settings.visibilitySeconds).catch((err) =>
        this.host.log.warn('visibility heartbeat failed', { queue: this.queue, error: errorText(err) }),
      );
    }, heartbeatIntervalMs(this.settings.visibilitySeconds));
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
        stopHeartbeat();
      }
    });
  }

  private chore(work: Promise<void>): void {
    const tracked = work
      .catch((err) => this.host.log.warn('sqs housekeeping failed', { queue: this.queue, error: errorText(err) }))
      .finally(() => this.chores.delete(tracked));
    this.chores.add(tracked);
  }
}
