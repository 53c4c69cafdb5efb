/**
 * Keys to reconcile, each at most once at a time: a key added while it is being worked on runs again
 * afterwards (never concurrently), a key added twice while waiting runs once, and a failed key comes back
 * after an exponential backoff (capped) until it succeeds, unless its error is terminal (protocol/errors.ts):
 * that one is reported and not retried, as controller-runtime does; the next change to the object adds it again.
 */
import { isTerminal } from '../protocol/errors.ts';

export interface WorkQueueOptions {
  concurrency: number;
  baseBackoffMs: number;
  maxBackoffMs: number;
}

export class WorkQueue {
  private readonly waiting = new Set<string>();
  private readonly running = new Set<string>();
  private readonly again = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly work: (key: string) => Promise<void>,
    private readonly options: WorkQueueOptions,
    /** `retryInMs` is undefined for a terminal error, which is not retried. */
    private readonly onError: (key: string, err: Error, retryInMs: number | undefined) => void,
  ) {}

  add(key: string): void {
    if (this.stopped) return;
    if (this.running.has(key)) this.again.add(key);
    else this.waiting.add(key);
    this.pump();
  }

  get depth(): number {
    return this.waiting.size + this.running.size + this.timers.size;
  }

  /** Resolves when nothing is waiting, running or scheduled for retry. */
  idle(): Promise<void> {
    if (this.depth === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.waiting.clear();
  }

  private pump(): void {
    for (const key of [...this.waiting]) {
      if (this.running.size >= this.options.concurrency) break;
      this.waiting.delete(key);
      this.running.add(key);
      void this.work(key).then(
        () => this.finish(key, undefined),
        (err: Error) => this.finish(key, err),
      );
    }
    if (this.depth === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private finish(key: string, err: Error | undefined): void {
    this.running.delete(key);
    if (err && isTerminal(err)) {
      this.failures.delete(key);
      this.onError(key, err, undefined);
    } else if (err && !this.stopped) {
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      const delay = Math.min(this.options.maxBackoffMs, this.options.baseBackoffMs * 2 ** (n - 1));
      this.onError(key, err, delay);
      clearTimeout(this.timers.get(key));
      this.timers.set(
        key,
        setTimeout(() => {
          this.timers.delete(key);
          this.add(key);
        }, delay),
      );
    } else if (!err) this.failures.delete(key);
    if (this.again.delete(key)) this.waiting.add(key);
    this.pump();
  }
}
