/**
 * Turns NOTIFY wake-ups into ordered event deliveries. A notification carries only "<seq>:<envelope id>"
 * (NOTIFY payloads are capped at 8000 bytes; results are not); the events themselves are read back.
 *
 * Everything that delivers (live batches, replays for new subscribers, catch-up after a reconnect) runs on
 * one serial queue, so a subscriber sees its envelope's events once each and in seq order. Per envelope,
 * seq order is commit order because every write holds the envelope's row lock.
 *
 * An event this process wrote itself, for an envelope someone here follows, is kept from its INSERT until
 * its NOTIFY (`written`), so its delivery costs no read: a NOTIFY is only sent once its transaction
 * committed, so a kept event is delivered only if it was committed, and one whose transaction rolled back is
 * never asked for (seqs are not reused) and ages out. What is not kept (another replica's events, or a
 * NOTIFY that came before the writer's answer) is read back as before.
 */
import type { EnvelopeEvent, SubscribeOptions, Subscription } from './store.ts';

export interface EventSource {
  eventsBySeq(seqs: number[]): Promise<EnvelopeEvent[]>;
  eventsSince(envelopeId: string | undefined, afterSeq: number, limit: number): Promise<EnvelopeEvent[]>;
  maxSeq(envelopeId: string | undefined): Promise<number>;
}

/** Reads one page of a subscriber's events after a seq, as EventSource.eventsSince does. */
export type FirstPage = (afterSeq: number, limit: number) => Promise<EnvelopeEvent[]>;

const PAGE = 1000;
/** Written events kept for their NOTIFY; one that never comes (a rolled-back write) is dropped past this many. */
const WRITTEN_KEPT = 4096;
/** How many seqs an all-envelopes subscriber remembers to drop duplicates from an overlapping catch-up. */
const SEEN_WINDOW = 10_000;
const RETRY_MS = [250, 500, 1000, 2000, 5000];

class Subscriber {
  /** Highest seq delivered; where a catch-up resumes. */
  lastSeq = 0;
  private readonly seen = new Set<number>();
  closed = false;
  /** Set while the subscriber's own replay runs: live events wait here, then follow the replay in seq order. */
  private held: EnvelopeEvent[] | undefined;
  /** The listener reconnected while the events were held: replay from lastSeq once they are released. */
  catchUpWhenReleased = false;

  constructor(
    readonly envelopeId: string | undefined,
    private readonly listener: (event: EnvelopeEvent) => void,
    private readonly onError: ((error: unknown) => void) | undefined,
  ) {}

  matches(envelopeId: string): boolean {
    return this.envelopeId === undefined || this.envelopeId === envelopeId;
  }

  get holding(): boolean {
    return this.held !== undefined;
  }

  hold(): void {
    this.held = [];
  }

  /** Delivers what was held, in seq order; what the replay already delivered is dropped as a duplicate. */
  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const event of held.sort((a, b) => a.seq - b.seq)) this.deliverNow(event);
  }

  deliver(event: EnvelopeEvent): void {
    if (!this.held) this.deliverNow(event);
    else if (!this.closed) this.held.push(event);
  }

  /** Past the hold: the subscriber's own replay, which the held live events follow. */
  deliverNow(event: EnvelopeEvent): void {
    if (this.closed || !this.matches(event.envelopeId) || this.isDuplicate(event.seq)) return;
    this.lastSeq = Math.max(this.lastSeq, event.seq);
    try {
      this.listener(event);
    } catch (err) {
      this.onError?.(err);
    }
  }

  /**
   * One envelope's seqs arrive in increasing order, so "not above the last" is a duplicate. Across
   * envelopes commit order can differ from seq order, so the all-envelopes subscriber remembers seqs.
   */
  private isDuplicate(seq: number): boolean {
    if (this.envelopeId !== undefined) return seq <= this.lastSeq;
    if (this.seen.has(seq)) return true;
    this.seen.add(seq);
    if (this.seen.size > SEEN_WINDOW) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    return false;
  }
}

export class SubscriptionHub {
  private readonly subscribers = new Set<Subscriber>();
  /**
   * The same subscribers by the envelope they follow (`undefined`: every envelope). A NOTIFY is about one
   * envelope, and while calls are slow thousands of streams can be open: looking through all of them for
   * each of the thousands of notifications a second made the cost grow with the square of the load.
   */
  private readonly byEnvelope = new Map<string | undefined, Set<Subscriber>>();
  private pending: number[] = [];
  /** Events written by this process and not yet notified, by seq (see the top of the file). */
  private readonly written = new Map<number, EnvelopeEvent>();
  private drainQueued = false;
  private queue: Promise<void> = Promise.resolve();
  private retry = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  /**
   * A read failed or notifications were lost, and the catch-up that replays them has not run yet: live
   * events are left to it, since delivering a newer one first would move a subscriber's lastSeq past the
   * gap and the catch-up, which replays from lastSeq, would skip what the gap held.
   */
  private behind = false;
  private closed = false;

  constructor(
    private readonly source: EventSource,
    private readonly onBackgroundError: (error: unknown) => void = () => {},
  ) {}

  /** Called with each NOTIFY payload. */
  notify(payload: string): void {
    const colon = payload.indexOf(':');
    const seq = Number(colon < 0 ? payload : payload.slice(0, colon));
    const envelopeId = colon < 0 ? undefined : payload.slice(colon + 1);
    if (this.closed || !Number.isSafeInteger(seq)) return;
    const wanted = envelopeId === undefined ? this.subscribers.size > 0 : this.byEnvelope.has(envelopeId) || this.byEnvelope.has(undefined);
    if (!wanted) return;
    this.pending.push(seq);
    if (!this.drainQueued) {
      this.drainQueued = true;
      this.enqueue(() => this.drain());
    }
  }

  /**
   * Called with the events a write of this process appended, once the statement returned (inside its
   * transaction): those someone here follows are kept until their NOTIFY.
   */
  wrote(events: readonly EnvelopeEvent[]): void {
    if (this.closed || this.subscribers.size === 0) return;
    const everything = this.byEnvelope.has(undefined);
    for (const event of events) {
      if (!everything && !this.byEnvelope.has(event.envelopeId)) continue;
      this.written.set(event.seq, event);
      if (this.written.size > WRITTEN_KEPT) this.written.delete(this.written.keys().next().value!);
    }
  }

  /** Called when the listener reconnected: notifications sent while it was away are lost. */
  resume(): void {
    this.enqueue(() => this.catchUp());
  }

  /**
   * A subscriber is registered first, holding live events, and then reads where it starts (the latest seq,
   * or the events after `afterSeq`): an event committed after that read reaches it live, one committed
   * before is in what it read, and the held ones follow in seq order without duplicates. The read runs
   * beside the live deliveries rather than in their queue, so a burst of new streams (each one read)
   * does not delay every other stream's events.
   */
  async add(
    envelopeId: string | undefined,
    listener: (e: EnvelopeEvent) => void,
    options: SubscribeOptions,
    firstPage?: FirstPage,
  ): Promise<Subscription> {
    const sub = new Subscriber(envelopeId, listener, options.onError);
    sub.hold();
    this.register(sub);
    try {
      if (options.afterSeq === undefined) sub.lastSeq = await this.source.maxSeq(envelopeId);
      else {
        sub.lastSeq = options.afterSeq;
        await this.replay(sub, options.afterSeq, 'own', firstPage);
      }
    } catch (err) {
      sub.closed = true;
      this.unregister(sub);
      throw err;
    }
    sub.release();
    if (sub.catchUpWhenReleased) this.enqueue(() => this.replay(sub, sub.lastSeq).catch((err: unknown) => this.scheduleCatchUp(err)));
    return {
      close: async () => {
        sub.closed = true;
        this.unregister(sub);
      },
    };
  }

  private register(sub: Subscriber): void {
    this.subscribers.add(sub);
    let followers = this.byEnvelope.get(sub.envelopeId);
    if (!followers) this.byEnvelope.set(sub.envelopeId, (followers = new Set()));
    followers.add(sub);
  }

  private unregister(sub: Subscriber): void {
    if (!this.subscribers.delete(sub)) return;
    const followers = this.byEnvelope.get(sub.envelopeId);
    followers?.delete(sub);
    if (followers?.size === 0) this.byEnvelope.delete(sub.envelopeId);
  }

  /** Everyone an event goes to: its envelope's followers and the all-envelopes subscribers. */
  private deliver(event: EnvelopeEvent): void {
    for (const key of [event.envelopeId, undefined]) {
      const followers = this.byEnvelope.get(key);
      // A listener may close its subscription as it is called; a Set skips what is deleted during iteration.
      if (followers) for (const sub of followers) sub.deliver(event);
    }
  }

  close(): void {
    this.closed = true;
    this.written.clear();
    clearTimeout(this.retryTimer);
    for (const sub of this.subscribers) sub.closed = true;
    this.subscribers.clear();
    this.byEnvelope.clear();
  }

  get size(): number {
    return this.subscribers.size;
  }

  private enqueue(task: () => Promise<void>): void {
    this.queue = this.queue.then(task).catch((err: unknown) => this.onBackgroundError(err));
  }

  private async drain(): Promise<void> {
    this.drainQueued = false;
    // Committed before their NOTIFY came, so the scheduled catch-up's read will have them.
    if (this.behind) this.pending = [];
    while (this.pending.length > 0 && !this.closed) {
      const batch = this.pending.splice(0, PAGE);
      let events: EnvelopeEvent[];
      try {
        events = await this.eventsBySeq(batch);
      } catch (err) {
        // The rows are committed; a catch-up from each subscriber's last seq will find them.
        this.pending = [];
        this.scheduleCatchUp(err);
        return;
      }
      const bySeq = new Map(events.map((e) => [e.seq, e]));
      for (const seq of batch) {
        const event = bySeq.get(seq);
        if (event) this.deliver(event);
      }
    }
  }

  /** The notified events: those this process wrote from memory, the rest read. */
  private async eventsBySeq(seqs: number[]): Promise<EnvelopeEvent[]> {
    const kept: EnvelopeEvent[] = [];
    const unread: number[] = [];
    for (const seq of seqs) {
      const event = this.written.get(seq);
      if (event) {
        this.written.delete(seq);
        kept.push(event);
      } else unread.push(seq);
    }
    return unread.length === 0 ? kept : [...kept, ...(await this.source.eventsBySeq(unread))];
  }

  private async catchUp(): Promise<void> {
    try {
      for (const sub of [...this.subscribers]) {
        // Its start is not read yet, so lastSeq means nothing: it catches up once that read is done.
        if (sub.holding) sub.catchUpWhenReleased = true;
        else await this.replay(sub, sub.lastSeq);
      }
      this.retry = 0;
      this.behind = false;
    } catch (err) {
      this.scheduleCatchUp(err);
    }
  }

  /**
   * `own`: the subscriber's first read, delivered past its hold (what it holds comes after). `firstPage`
   * stands in for the first eventsSince (a caller that reads something else in the same statement).
   */
  private async replay(sub: Subscriber, afterSeq: number, own?: 'own', firstPage?: FirstPage): Promise<void> {
    let from = afterSeq;
    let read = firstPage;
    for (;;) {
      const events = read ? await read(from, PAGE) : await this.source.eventsSince(sub.envelopeId, from, PAGE);
      read = undefined;
      for (const event of events) (own ? sub.deliverNow(event) : sub.deliver(event));
      if (events.length < PAGE || sub.closed) return;
      from = events[events.length - 1]?.seq ?? from;
    }
  }

  private scheduleCatchUp(err: unknown): void {
    this.onBackgroundError(err);
    this.behind = true;
    if (this.closed || this.retryTimer) return;
    const delay = RETRY_MS[Math.min(this.retry++, RETRY_MS.length - 1)];
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.resume();
    }, delay);
    this.retryTimer.unref();
  }
}
