/**
 * Counters, gauges and histograms for a per-message path. prom-client's own validate and hash their labels on
 * every inc() and observe() (about 5% of a sidecar's busy time at 1 KiB messages); here a label set is resolved
 * once to a tally, and counting is an addition. They register in a prom-client Registry and answer get() with
 * the values prom-client's would (same names, labels in the same order, histogram buckets cumulative), so
 * /metrics, getSingleMetric() and `asya dev` read them alike; tallies.test.ts holds both to the same text.
 * A label set appears once it is resolved, as prom-client's appear once they are first counted or zeroed.
 */
import type { Metric, Registry } from 'prom-client';

type Labels<L extends string> = Readonly<Record<L, string>>;

interface TallyOptions<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
  registers: readonly Registry[];
}

interface ExportedValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
  /** prom-client's buckets carry one (null unless exemplars are on, which they never are here). */
  exemplar?: null;
}

/** A metric's label sets, each resolved once to a tally of type T. */
abstract class Tallied<L extends string, T> {
  readonly name: string;
  readonly help: string;
  abstract readonly type: 'counter' | 'gauge' | 'histogram';
  readonly aggregator = 'sum';
  private readonly labelNames: readonly L[];
  private tallies = new Map<string, { labels: Labels<L>; tally: T }>();

  constructor(
    options: TallyOptions<L>,
    private readonly newTally: () => T,
  ) {
    this.name = options.name;
    this.help = options.help;
    this.labelNames = options.labelNames;
    // The registry only stores what it is given and calls get() and reset() on it; its type lists prom-client's classes.
    for (const registry of options.registers) registry.registerMetric(this as unknown as Metric);
    this.showUnlabelled();
  }

  /** Without labels there is one series, shown from the start (at zero), as prom-client shows it. */
  private showUnlabelled(): void {
    if (this.labelNames.length === 0) this.labels({} as Labels<L>);
  }

  /** The tally of one label set, created at its first use; keep it where the labels do not change. */
  labels(labels: Labels<L>): T {
    const names = this.labelNames;
    let key = names.length === 0 ? '' : labels[names[0]!];
    for (let i = 1; i < names.length; i++) key += `\u0000${labels[names[i]!]}`;
    let entry = this.tallies.get(key);
    if (!entry) {
      // In labelNames' order whatever order the caller wrote them in, so the exposition is stable.
      const ordered = Object.fromEntries(this.labelNames.map((n) => [n, labels[n]])) as Labels<L>;
      entry = { labels: ordered, tally: this.newTally() };
      this.tallies.set(key, entry);
    }
    return entry.tally;
  }

  protected abstract export(labels: Labels<L>, tally: T): ExportedValue[];

  async get(): Promise<{ name: string; help: string; type: string; values: ExportedValue[]; aggregator: string }> {
    const values = [...this.tallies.values()].flatMap(({ labels, tally }) => this.export(labels, tally));
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** Forgets every label set; a tally a caller kept from before counts on, unread (the product never resets). */
  reset(): void {
    this.tallies = new Map();
    this.showUnlabelled();
  }
}

export class CounterTally {
  value = 0;
  inc(by = 1): void {
    this.value += by;
  }
}

export class GaugeTally extends CounterTally {
  set(value: number): void {
    this.value = value;
  }
}

/** One number per label set. */
abstract class Valued<L extends string, T extends CounterTally> extends Tallied<L, T> {
  protected export(labels: Labels<L>, tally: T): ExportedValue[] {
    return [{ value: tally.value, labels: { ...labels } }];
  }
}

export class TallyCounter<L extends string> extends Valued<L, CounterTally> {
  readonly type = 'counter';
  constructor(options: TallyOptions<L>) {
    super(options, () => new CounterTally());
  }
}

export class TallyGauge<L extends string> extends Valued<L, GaugeTally> {
  readonly type = 'gauge';
  constructor(options: TallyOptions<L>) {
    super(options, () => new GaugeTally());
  }
}

export class HistogramTally {
  /** counts[i]: observations in (bounds[i-1], bounds[i]]; the last, those above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

export class TallyHistogram<L extends string> extends Tallied<L, HistogramTally> {
  readonly type = 'histogram';
  private readonly bounds: readonly number[];
  constructor(options: TallyOptions<L> & { buckets: readonly number[] }) {
    const bounds = [...options.buckets].sort((a, b) => a - b);
    super(options, () => new HistogramTally(bounds));
    this.bounds = bounds;
  }
  protected export(labels: Labels<L>, tally: HistogramTally): ExportedValue[] {
    const bucket = `${this.name}_bucket`;
    let cumulative = 0;
    const values: ExportedValue[] = this.bounds.map((le, i) => {
      cumulative += tally.counts[i]!;
      return { value: cumulative, labels: { le, ...labels }, metricName: bucket, exemplar: null };
    });
    values.push(
      { value: tally.count, labels: { le: '+Inf', ...labels }, metricName: bucket, exemplar: null },
      { value: tally.sum, labels: { ...labels }, metricName: `${this.name}_sum` },
      { value: tally.count, labels: { ...labels }, metricName: `${this.name}_count` },
    );
    return values;
  }
}
