/**
 * Group commit: concurrent writes of one kind are gathered and written by one statement in one transaction.
 *
 * Every envelope insert NOTIFYs, and PostgreSQL serialises committing transactions that NOTIFY (each holds
 * a cluster-wide lock through its commit, WAL flush included), so one insert per transaction caps tool
 * calls at one WAL flush each, whatever the pool size. A batch pays that flush once for all of its rows,
 * and one round trip instead of one per row.
 *
 * It adds no waiting at low load: a write starts on the next turn of the event loop (which lets the
 * requests parsed in the same turn join it) as long as fewer than maxInFlight batches are running. Only
 * when that many are, later writes queue, and they leave together as soon as one finishes. A caller is
 * answered only after its batch has committed.
 */
export interface GroupCommitOptions {
  /** Batches running at once; the rest wait and grow. */
  maxInFlight: number;
  /** Items in one batch. */
  maxItems: number;
  /** Sum of the items' sizes in one batch; a single larger item still goes, alone. */
  maxBytes: number;
  /**
   * How long a batch's first item waits for others, for writes nobody waits on (an outbox entry's delete
   * after its publish): fewer, larger statements. Without it, the next turn of the event loop. idle() does
   * not wait for it.
   */
  lingerMs?: number;
}

interface Waiting<I, O> {
  item: I;
  size: number;
  resolve(result: O): void;
  reject(error: unknown): void;
}

export class GroupCommit<I, O> {
  private queue: Array<Waiting<I, O>> = [];
  private inFlight = 0;
  private scheduled = false;
  private lingering: NodeJS.Timeout | undefined;
  private idleWaiters: Array<() => void> = [];

  /** write settles each item, in the items' order, or throws for the whole batch. */
  constructor(
    private readonly write: (items: I[]) => Promise<Array<PromiseSettledResult<O>>>,
    private readonly options: GroupCommitOptions,
  ) {}

  submit(item: I, size: number): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, size, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once everything submitted so far is written (or has failed). */
  async idle(): Promise<void> {
    if (this.lingering) {
      clearTimeout(this.lingering);
      this.sendScheduled();
    }
    while (this.queue.length > 0 || this.inFlight > 0) {
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0 || this.inFlight >= this.options.maxInFlight) return;
    this.scheduled = true;
    const go = () => this.sendScheduled();
    if (this.options.lingerMs) this.lingering = setTimeout(go, this.options.lingerMs);
    else setImmediate(go);
  }

  /** What schedule() arranged, now. */
  private sendScheduled(): void {
    this.scheduled = false;
    this.lingering = undefined;
    this.flush();
  }

  private flush(): void {
    while (this.queue.length > 0 && this.inFlight < this.options.maxInFlight) {
      const batch = this.takeBatch();
      this.inFlight++;
      this.write(batch.map((w) => w.item)).then(
        (results) => {
          if (results.length !== batch.length) throw new Error(`group commit: ${results.length} results for ${batch.length} items`);
          batch.forEach((w, i) => {
            const result = results[i] as PromiseSettledResult<O>;
            if (result.status === 'fulfilled') w.resolve(result.value);
            else w.reject(result.reason);
          });
        },
      ).catch((error: unknown) => {
        for (const w of batch) w.reject(error);
      }).finally(() => {
        this.inFlight--;
        // Whatever queued meanwhile has waited a whole batch already: send it now, not a turn later (unless
        // its writes may linger).
        if (this.options.lingerMs) this.schedule();
        else this.flush();
        if (this.inFlight === 0 && this.queue.length === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      });
    }
  }

  private takeBatch(): Array<Waiting<I, O>> {
    let count = 0;
    let bytes = 0;
    while (count < this.queue.length && count < this.options.maxItems) {
      const size = (this.queue[count] as Waiting<I, O>).size;
      if (count > 0 && bytes + size > this.options.maxBytes) break;
      bytes += size;
      count++;
    }
    return this.queue.splice(0, count);
  }
}
