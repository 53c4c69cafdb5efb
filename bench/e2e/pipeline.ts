/** What the stepped load test drives: either pipeline, behind one shape. */
import { delta, perEnvelope, type Counts } from './counters.ts';

export interface PipelineCounters {
  /** Rows written, by "<table> insert|update|delete". */
  readonly dbRowWrites: Counts;
  /** Table scans, by "<table> index|sequential" (counters.ts tableScans). */
  readonly dbScans: Counts;
  /** HTTP requests the gateway answered, by route (none for the raw pipeline). */
  readonly httpRequests: Counts;
  /** Messages published to the broker, by who published them. */
  readonly brokerMessages: Counts;
}

/** Each group of counters divided by the envelopes. */
export function perEnvelopeOf(counters: PipelineCounters, envelopes: number): Record<keyof PipelineCounters, Counts> {
  return mapGroups(counters, (counts) => perEnvelope(counts, envelopes));
}

/** Each group of counters since `before`. */
export function countersSince(before: PipelineCounters, now: PipelineCounters): PipelineCounters {
  return mapGroups(now, (counts, group) => delta(before[group], counts));
}

function mapGroups(counters: PipelineCounters, map: (counts: Counts, group: keyof PipelineCounters) => Counts): Record<keyof PipelineCounters, Counts> {
  const groups = Object.keys(counters) as Array<keyof PipelineCounters>;
  return Object.fromEntries(groups.map((group) => [group, map(counters[group], group)])) as Record<keyof PipelineCounters, Counts>;
}

export interface Pipeline {
  readonly name: string;
  /** The processes this pipeline runs (for CPU accounting), by role. */
  readonly pids: Record<string, number>;
  /**
   * Starts envelope `i` and resolves once the client sees it final and succeeded; rejects when it is seen
   * failed or the call is refused.
   */
  call(i: number): Promise<void>;
  /** Cumulative counters since the pipeline started. */
  counters(): Promise<PipelineCounters>;
  /** Messages ready (not yet delivered) in each of the pipeline's queues, by stage: where a backlog builds. */
  backlog(): Promise<Record<string, number>>;
  /**
   * Brings the planner's statistics of the pipeline's tables up to date (counters.ts analyzeSchema); the
   * bench does it before each step, as autovacuum would have by then in a running installation. A no-op
   * where the bench cannot reach the database (asya dev's PGlite).
   */
  analyze(): Promise<void>;
  /** Empties the pipeline's queues (after a step that left a backlog the run gave up waiting for). */
  purge(): Promise<void>;
  stop(): Promise<void>;
}
