/**
 * What a cost curve is: one input grown point by point (payload size, route length, fan-out width, SSE
 * subscribers, actors in `asya dev`), and at each point the numbers of Asya and of its raw baseline,
 * measured in the same run. A curve module declares its axis, its points and its panels; runner.ts measures
 * the points, and writes the table and the plot from these declarations alone.
 */

export interface Series {
  /** The key of the value in each point's `values`. */
  readonly key: string;
  readonly label: string;
}

export interface Panel {
  readonly title: string;
  /** The unit of every series of the panel, shown on its axis and in the table's headers. */
  readonly unit: string;
  readonly series: readonly Series[];
  /** A logarithmic y axis, for values spanning decades (latencies from milliseconds to seconds). */
  readonly logY?: boolean;
}

export interface Ratio {
  readonly label: string;
  readonly of: string;
  readonly to: string;
}

/** Started once per curve; measures one point at a time. */
export interface CurveSession {
  /** The values of every series at `x`; a series that has no value at this point is left out. */
  measure(x: number): Promise<Record<string, number>>;
  close(): Promise<void>;
}

export interface CurveContext {
  /** The points this run measures (a session may size itself to the largest). */
  readonly points: readonly number[];
  /** How long each closed-loop measurement runs (fewer in --quick). */
  readonly seconds: number;
  readonly log: (line: string) => void;
}

export interface Curve {
  /** File name of its table and plot. */
  readonly name: string;
  readonly title: string;
  /** What the numbers are and against what baseline: printed above the table. */
  readonly method: string;
  readonly x: { readonly label: string; readonly log: boolean; format(x: number): string };
  readonly points: { readonly full: readonly number[]; readonly quick: readonly number[] };
  readonly panels: readonly Panel[];
  /** Columns `of ÷ to` in the table (Asya against its baseline at the same point). */
  readonly ratios: readonly Ratio[];
  open(context: CurveContext): Promise<CurveSession>;
}

export interface CurvePoint {
  readonly x: number;
  readonly values: Record<string, number>;
  /** The machine's load average (1, 5, 15 minutes) right after the point was measured. */
  readonly load: readonly number[];
}

export interface CurveResult {
  readonly curve: Curve;
  readonly startedAt: string;
  readonly machine: { readonly cores: number; readonly node: string };
  /** How long each side was measured at each point (closed loop), past its warm-up. */
  readonly seconds: number;
  readonly points: readonly CurvePoint[];
}

/** Throughput and latency of one closed-loop measurement, as the series of a curve's panels. */
export interface LoopMeasure {
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly calls: number;
}

/** `<prefix>/s` and `<prefix> p99` (and p50): the keys the throughput and latency panels use. */
export function loopValues(prefix: string, m: LoopMeasure): Record<string, number> {
  return { [`${prefix}/s`]: m.perSecond, [`${prefix} p50`]: m.p50Ms, [`${prefix} p99`]: m.p99Ms };
}

/** The two panels most curves have: throughput and p99 of each named side. */
export function throughputAndP99(unit: string, sides: ReadonlyArray<{ key: string; label: string }>): Panel[] {
  return [
    { title: 'throughput', unit, series: sides.map((s) => ({ key: `${s.key}/s`, label: s.label })) },
    { title: 'p99 latency', unit: 'ms', logY: true, series: sides.map((s) => ({ key: `${s.key} p99`, label: s.label })) },
  ];
}

const KiB = 1024;

/** 1024 → "1 KiB", 10485760 → "10 MiB". */
export function formatBytes(bytes: number): string {
  if (bytes >= KiB * KiB) return `${+(bytes / (KiB * KiB)).toFixed(1)} MiB`;
  if (bytes >= KiB) return `${+(bytes / KiB).toFixed(1)} KiB`;
  return `${bytes} B`;
}

export const formatCount = (n: number): string => n.toLocaleString('en-US');
