/**
 * Fail fast while the database is away. postgres.js queues the calls beyond its pool, and reconnects with a
 * backoff that grows with every failed connect of the pool (3^n/100 s, up to 20 s). Under concurrent traffic
 * during an outage the queued calls waited on those backoffs, one connection attempt after the other, for
 * many seconds, so clients timed out instead of getting a 503 (a lone request failed at once).
 *
 * The gate keeps at most `max` calls inside the driver, so none waits in the driver's queue (a call that
 * waits here has sent nothing and can be refused safely). Once a call finds the database unreachable, the
 * waiting calls and every new call are refused at once, and a probe (at most one at a time, at most one per
 * `probeIntervalMs`) decides when the database is back.
 */
import { StoreUnavailableError } from './store.ts';

export interface OutageGateOptions {
  /** Calls let into the driver at once: its pool size. */
  max: number;
  /** Does the database answer? Never throws. */
  probe: () => Promise<boolean>;
  isUnavailable: (err: unknown) => boolean;
  /** @default 250 */
  probeIntervalMs?: number;
  now?: () => number;
}

interface Waiter {
  admit: () => void;
  refuse: (err: Error) => void;
}

export class OutageGate {
  private active = 0;
  private waiting: Waiter[] = [];
  /** The error that showed the database is away; undefined while it is reachable. */
  private outage: unknown;
  private probing: Promise<boolean> | undefined;
  private lastProbeAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: OutageGateOptions) {}

  get isDown(): boolean {
    return this.outage !== undefined;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    this.refuseDuringOutage();
    await this.admit();
    try {
      return await work();
    } catch (err) {
      if (this.options.isUnavailable(err)) this.trip(err);
      throw err;
    } finally {
      this.release();
    }
  }

  /** Probes now (or joins the probe under way); the outage ends when it succeeds. */
  probe(): Promise<boolean> {
    if (!this.probing) {
      this.lastProbeAt = this.now();
      this.probing = this.options.probe().then((up) => {
        this.probing = undefined;
        this.lastProbeAt = this.now();
        if (up) this.outage = undefined;
        return up;
      });
    }
    return this.probing;
  }

  private refuseDuringOutage(): void {
    if (this.outage === undefined) return;
    if (this.now() - this.lastProbeAt >= (this.options.probeIntervalMs ?? 250)) void this.probe();
    throw new StoreUnavailableError(this.outage);
  }

  private admit(): Promise<void> {
    if (this.active < this.options.max) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise<void>((admit, refuse) => this.waiting.push({ admit, refuse }));
  }

  /** A finished call hands its slot to the next waiter. */
  private release(): void {
    const next = this.waiting.shift();
    if (next) next.admit();
    else this.active--;
  }

  private trip(err: unknown): void {
    this.outage = err;
    const refused = this.waiting;
    this.waiting = [];
    for (const waiter of refused) waiter.refuse(new StoreUnavailableError(err));
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}
