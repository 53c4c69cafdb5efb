/**
 * One step of the load test: `rate` calls per second, open loop, for `seconds`. Latency counts from each
 * call's scheduled time, so a client or machine that falls behind shows in the numbers instead of slowing
 * the offered load. A step holds when nothing failed, p99 is within the limit, and the last envelope was
 * final within the drain bound of the last scheduled send (so no backlog is left behind).
 */
import { loadavg } from 'node:os';
import { cpuMs, cpuMsByCommand, percentile } from '../support.ts';
import type { Pipeline } from './pipeline.ts';

export interface HoldRule {
  readonly p99LimitMs: number;
  /** After the last scheduled send, every envelope of the step must be final within this. */
  readonly drainLimitMs: number;
  /** How long to wait for stragglers before giving up on them (they count as unfinished). */
  readonly settleMs: number;
}

export interface StepResult {
  pipeline: string;
  rate: number;
  seconds: number;
  sent: number;
  succeeded: number;
  failed: number;
  /** Not final when the run stopped waiting (settleMs after the last send). */
  unfinished: number;
  /** Envelopes sent and not yet final at the moment of the last scheduled send. */
  inFlightAtLastSend: number;
  /** Messages waiting in each stage's queue then: the stage that falls behind. */
  backlogAtLastSend: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** From the last scheduled send to the last envelope final; null when some never finished. */
  drainMs: number | null;
  /** Offered rate actually achieved by the sender (calls started per second). */
  sentPerSecond: number;
  cpuMsPerEnvelope: Record<string, number>;
  /**
   * CPU milliseconds per envelope of the servers on this machine, by command (SERVER_COMMANDS): both
   * pipelines share them, but their steps take turns, so each step's share is its own.
   */
  serverCpuMsPerEnvelope: Record<string, number>;
  loadAverage: { before: number; after: number };
  /** Each process's peak resident set during this step (VmHWM reset at its start), by role; absent where it could not be reset. */
  peakRssMiB?: Record<string, number>;
  holds: boolean;
  errors: string[];
  /**
   * Per window of the step's send schedule (by each call's scheduled time): calls, p50 and max latency of
   * those that finished. Where in the step latency rose: a stall of a few seconds and a slow climb read
   * the same in the step's p50 and p99, not here.
   */
  timeline: Array<{ fromS: number; calls: number; p50Ms: number | null; maxMs: number | null }>;
}

/** The servers' commands as /proc names them: PostgreSQL, RabbitMQ's Erlang VM, moto_server (the SQS leg). */
export const SERVER_COMMANDS = ['postgres', 'beam.smp', 'moto_server'] as const;

/** Seconds per timeline window. */
const WINDOW_S = 5;

function timelineOf(finished: Array<{ dueS: number; latency: number }>, seconds: number): StepResult['timeline'] {
  const windows = Array.from({ length: Math.max(1, Math.ceil(seconds / WINDOW_S)) }, () => [] as number[]);
  for (const f of finished) windows[Math.min(windows.length - 1, Math.floor(f.dueS / WINDOW_S))]!.push(f.latency);
  return windows.map((w, i) => {
    const sorted = w.sort((a, b) => a - b);
    return { fromS: i * WINDOW_S, calls: w.length, p50Ms: w.length ? percentile(sorted, 50) : null, maxMs: w.length ? sorted[w.length - 1]! : null };
  });
}

/** The timeline on one line: `0s 33/152 ms, 5s ...` (p50/max per window). */
export function timelineText(timeline: StepResult['timeline']): string {
  return timeline.map((w) => `${w.fromS}s ${w.p50Ms === null ? '-' : `${w.p50Ms.toFixed(0)}/${w.maxMs!.toFixed(0)}`}`).join(', ');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `signal` ends the step early (an interrupted run): it then throws once the calls sent so far are done or given up. */
export async function runStep(pipeline: Pipeline, rate: number, seconds: number, rule: HoldRule, signal?: AbortSignal): Promise<StepResult> {
  const n = Math.max(1, Math.round(rate * seconds));
  const finished: Array<{ dueS: number; latency: number }> = [];
  const errors: string[] = [];
  let failed = 0;
  let lastDone = 0;
  const cpuBefore = Object.fromEntries(Object.entries(pipeline.pids).map(([k, pid]) => [k, cpuMs(pid)]));
  const serverBefore = cpuMsByCommand(SERVER_COMMANDS);
  const loadBefore = loadavg()[0]!;
  const calls: Array<Promise<void>> = [];
  const start = performance.now() + 20;
  for (let i = 0; i < n && !signal?.aborted; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    calls.push(
      pipeline.call(i).then(
        () => {
          const now = performance.now();
          finished.push({ dueS: (due - start) / 1000, latency: now - due });
          lastDone = Math.max(lastDone, now);
        },
        (err: unknown) => {
          failed++;
          if (errors.length < 5) errors.push(err instanceof Error ? err.message : String(err));
        },
      ),
    );
  }
  const lastDue = start + ((n - 1) * 1000) / rate;
  const sentPerSecond = n > 1 ? (n - 1) / ((performance.now() - start) / 1000) : n;
  const inFlightAtLastSend = n - finished.length - failed;
  const backlogAtLastSend = await pipeline.backlog();
  let timer: NodeJS.Timeout | undefined;
  let onAbort = () => {};
  const aborted = new Promise<void>((r) => signal?.addEventListener('abort', (onAbort = () => r()), { once: true }));
  await Promise.race([Promise.allSettled(calls), new Promise((r) => (timer = setTimeout(r, rule.settleMs))), aborted]);
  clearTimeout(timer);
  // One run has many steps on one signal: a listener left behind per step is a leak Node warns of after ten.
  signal?.removeEventListener('abort', onAbort);
  signal?.throwIfAborted();
  const succeeded = finished.length;
  const unfinished = n - succeeded - failed;
  // Failed and unfinished calls count as infinitely late, so they weigh on p99 as they would on a user.
  const sorted = finished.map((f) => f.latency).sort((a, b) => a - b).concat(Array<number>(n - succeeded).fill(Number.POSITIVE_INFINITY));
  const drainMs = unfinished === 0 && failed === 0 ? Math.max(0, lastDone - lastDue) : null;
  const p99Ms = percentile(sorted, 99);
  const cpuMsPerEnvelope = Object.fromEntries(Object.entries(pipeline.pids).map(([k, pid]) => [k, (cpuMs(pid) - cpuBefore[k]!) / n]));
  const serverCpuMsPerEnvelope = Object.fromEntries(
    Object.entries(cpuMsByCommand(SERVER_COMMANDS))
      .filter(([, after]) => after > 0)
      .map(([k, after]) => [k, Math.max(0, after - serverBefore[k]!) / n]),
  );
  return {
    pipeline: pipeline.name,
    rate,
    seconds,
    sent: n,
    succeeded,
    failed,
    unfinished,
    inFlightAtLastSend,
    backlogAtLastSend,
    p50Ms: percentile(sorted, 50),
    p99Ms,
    maxMs: sorted[sorted.length - 1]!,
    drainMs,
    sentPerSecond,
    cpuMsPerEnvelope,
    serverCpuMsPerEnvelope,
    loadAverage: { before: loadBefore, after: loadavg()[0]! },
    holds: failed === 0 && unfinished === 0 && p99Ms <= rule.p99LimitMs && drainMs !== null && drainMs <= rule.drainLimitMs,
    errors,
    timeline: timelineOf(finished, seconds),
  };
}
