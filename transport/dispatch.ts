/** Consumer machinery shared by every transport, so the handler rule of transport.ts is enforced once. */
import { errorText, type TransportLogger } from './log.ts';
import type { ConsumeOptions, Delivery, DeliveryHandler, HandlerSlot } from './transport.ts';

export function concurrencyOf(options: ConsumeOptions | undefined): number {
  const n = options?.concurrency ?? 1;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`concurrency must be a positive integer, got ${n}`);
  return n;
}

/**
 * A hard cap on handlers running at once. Broker prefetch alone is not enough: a handler that acks early and
 * keeps working frees a prefetch slot, and the broker would push one more than the cap.
 *
 * A handler may give its slot back before it ends (HandlerSlot.release): the sidecar does once its results
 * are on their way to the broker, so the next delivery's handler runs while the broker confirms them. Such a
 * handler still counts until it ends, for drain(), and at most as many again as the cap may be finishing so:
 * a broker that confirms slowly then holds up new deliveries instead of piling up unfinished ones.
 */
export class HandlerPool {
  private running = 0;
  private readonly active = new Set<Promise<void>>();
  private slotWaiters: Array<() => void> = [];

  constructor(
    readonly limit: number,
    /** Called whenever a slot frees up, so a consumer can start what it buffered. */
    private readonly onSlotFreed: () => void = () => {},
  ) {}

  get free(): number {
    return Math.max(0, Math.min(this.limit - this.running, 2 * this.limit - this.active.size));
  }

  get busy(): number {
    return this.running;
  }

  start(task: (slot: HandlerSlot) => Promise<void>): void {
    if (this.free <= 0) throw new Error('HandlerPool.start without a free slot');
    this.running++;
    let held = true;
    const slot: HandlerSlot = {
      release: () => {
        if (!held) return;
        held = false;
        this.running--;
        this.slotFreed();
      },
    };
    const done: Promise<void> = task(slot)
      .catch(() => {})
      .finally(() => {
        this.active.delete(done);
        if (held) slot.release();
        else this.slotFreed();
      });
    this.active.add(done);
  }

  private slotFreed(): void {
    const waiters = this.slotWaiters;
    this.slotWaiters = [];
    for (const wake of waiters) wake();
    this.onSlotFreed();
  }

  waitForSlot(): Promise<void> {
    if (this.free > 0) return Promise.resolve();
    return new Promise((resolve) => this.slotWaiters.push(resolve));
  }

  /** Wakes every waitForSlot() caller, e.g. so a stopping poll loop can notice it should exit. */
  wakeAll(): void {
    const waiters = this.slotWaiters;
    this.slotWaiters = [];
    for (const wake of waiters) wake();
  }

  async drain(): Promise<void> {
    while (this.active.size > 0) await Promise.allSettled([...this.active]);
  }
}

export interface SettleHooks {
  isSettled(): boolean;
  requeue(): Promise<void>;
}

/** Runs one handler under the handler rule: a throw or a missing settle becomes a requeue, never a crash. */
export async function runHandler(
  handler: DeliveryHandler,
  delivery: Delivery,
  hooks: SettleHooks,
  log: TransportLogger,
  slot: HandlerSlot,
): Promise<void> {
  let threw = false;
  let failure: unknown;
  try {
    await handler(delivery, slot);
  } catch (err) {
    threw = true;
    failure = err;
  }
  const fields = { queue: delivery.queue, messageId: delivery.messageId, deliveryCount: delivery.deliveryCount };
  if (hooks.isSettled()) {
    if (threw) log.warn('handler threw after settling its delivery', { ...fields, error: errorText(failure) });
    return;
  }
  log.warn(threw ? 'handler threw; delivery requeued' : 'handler returned without ack or nack; delivery requeued', {
    ...fields,
    ...(threw ? { error: errorText(failure) } : {}),
  });
  try {
    await hooks.requeue();
  } catch (err) {
    log.error('requeue after handler failure failed', { ...fields, error: errorText(err) });
  }
}

export { sleep } from '../protocol/sleep.ts';

/** Exponential backoff with ±20% jitter so many sidecars losing one broker do not reconnect in lockstep. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}
