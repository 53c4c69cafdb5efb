/**
 * A closed loop for a time: `concurrency` callers, each starting its next call when its last one ended,
 * until `seconds` have passed and at least `minCalls` were made. Throughput is calls over the wall time;
 * latency is each call's own. A closed loop cannot overload what it measures, so every point of a curve
 * is a sustainable rate, and p99 shows what that rate costs in waiting.
 */
import { percentile } from '../support.ts';
import type { LoopMeasure } from './curve.ts';

export interface LoopOptions {
  readonly concurrency: number;
  readonly seconds: number;
  /** Keep going past `seconds` until this many calls ended (so p99 has a few samples at slow points). */
  readonly minCalls?: number;
  /** Calls before the clock starts: JIT, pools, connections (not measured). */
  readonly warmupCalls?: number;
}

export async function closedLoop(call: (i: number) => Promise<void>, options: LoopOptions): Promise<LoopMeasure> {
  let next = 0;
  for (let w = 0; w < (options.warmupCalls ?? 0); w++) await call(next++);
  const latencies: number[] = [];
  const minCalls = options.minCalls ?? 1;
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  let begun = 0;
  let failed = false;
  const worker = async () => {
    // A failed call fails the measurement; the other callers stop at their next turn rather than go on unseen.
    while (!failed && (performance.now() < deadline || begun < minCalls)) {
      begun++;
      const t = performance.now();
      await call(next++).catch((err: unknown) => {
        failed = true;
        throw err;
      });
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { perSecond: latencies.length / seconds, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), calls: latencies.length };
}
