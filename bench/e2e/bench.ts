/**
 * The stepped load test of bench/e2e: both pipelines started side by side on the same broker and database,
 * then, rate by rate, a step of each (Asya first, then raw); a pipeline stops climbing at its first step
 * that does not hold. At the end, once PostgreSQL's statistics have settled, the counters of each pipeline
 * divided by the envelopes it was sent.
 */
import { cpus, loadavg } from 'node:os';
import { peakRssMiB, resetPeakRss } from '../support.ts';
import { startAsyaPipeline } from './asya-pipeline.ts';
import { openBroker, type BenchBroker, type BrokerLeg } from './brokers.ts';
import { perEnvelope, STATISTICS_SETTLE_MS, type Counts } from './counters.ts';
import { startDevPipeline } from './dev-pipeline.ts';
import { perEnvelopeOf, type Pipeline, type PipelineCounters } from './pipeline.ts';
import { startRawPipeline, type RawQueueType } from './raw-pipeline.ts';
import { runStep, timelineText, type HoldRule, type StepResult } from './step.ts';

export const E2E_LEGS = ['rabbitmq', 'sqs', 'memory'] as const;
export type E2eLeg = BrokerLeg | 'memory';

export interface E2eOptions extends HoldRule {
  readonly rabbitmqUrl: string;
  /** What the Asya pipeline runs on: a broker, or `asya dev` (memory). The raw pipeline is always on RabbitMQ. */
  readonly transport: E2eLeg;
  readonly rates: number[];
  readonly seconds: number;
  readonly payloadBytes: number;
  /** The raw pipeline's queues (raw-pipeline.ts); quorum unless asked, as Asya's are. */
  readonly rawQueueType?: RawQueueType;
  /** Calls per pipeline at a low rate before the first step, not measured (JIT, pools, connections). */
  readonly warmupCalls: number;
  /**
   * Then this many seconds per pipeline at half the first step's rate, not measured either: every process's
   * hot paths optimised, and the tables grown past their first plans. 0 (the default): none.
   */
  readonly warmupSeconds?: number;
  /**
   * No ANALYZE of the pipelines' tables before each step (Pipeline.analyze): what a server without
   * autovacuum meets, as the bench measured before 2026-12-06.
   */
  readonly skipAnalyze?: boolean;
  /** Wait for PostgreSQL's statistics before reading the counters (off only where counts do not matter). */
  readonly settleStatistics: boolean;
  readonly log?: (line: string) => void;
  /** Stops the run early (Ctrl-C); the pipelines are still stopped and their queues and schemas removed. */
  readonly signal?: AbortSignal;
}

export interface PipelineReport {
  /** The highest step rate that held, 0 when none did. */
  heldRate: number;
  envelopes: number;
  counters: PipelineCounters;
  perEnvelope: Record<keyof PipelineCounters, Counts>;
  /** Each process's peak resident set over the run (VmHWM), by role. */
  peakRssMiB: Record<string, number>;
}

export interface E2eReport {
  startedAt: string;
  /** Where the numbers come from: compare runs only on like machines and loads. */
  machine: { cores: number; node: string; loadAverageAtStart: number[] };
  options: Omit<E2eOptions, 'log' | 'signal'>;
  steps: StepResult[];
  asya: PipelineReport;
  raw: PipelineReport;
  /** asya.heldRate / raw.heldRate; null when raw held no step. */
  ratio: number | null;
}

export async function runE2e(options: E2eOptions): Promise<E2eReport> {
  const log = options.log ?? (() => {});
  const startedAt = new Date().toISOString();
  const machine = { cores: cpus().length, node: process.version, loadAverageAtStart: loadavg() };
  const pipelines: Pipeline[] = [];
  let broker: BenchBroker | undefined;
  try {
    log('starting the raw pipeline ...');
    pipelines.push(await startRawPipeline(options.rabbitmqUrl, options.payloadBytes, options.rawQueueType));
    if (options.transport === 'memory') {
      log('starting the Asya pipeline under asya dev (memory transport) ...');
      pipelines.unshift(await startDevPipeline(options.payloadBytes));
    } else {
      log(`starting the Asya pipeline on ${options.transport} (gateway, 2 actors, happy-end) ...`);
      broker = await openBroker(options.transport, options.rabbitmqUrl);
      pipelines.unshift(await startAsyaPipeline(broker, options.payloadBytes));
    }
    const [asya, raw] = pipelines as [Pipeline, Pipeline];
    const sent = new Map<Pipeline, number>([[asya, 0], [raw, 0]]);
    for (const p of pipelines) {
      for (let i = 0; i < options.warmupCalls; i++) {
        options.signal?.throwIfAborted();
        await p.call(-1 - i);
      }
      sent.set(p, options.warmupCalls);
    }
    const warmupRate = Math.max(1, Math.min(...options.rates) / 2);
    for (const p of options.warmupSeconds ? pipelines : []) {
      log(`${p.name}: warming up at ${warmupRate}/s for ${options.warmupSeconds} s (not measured) ...`);
      if (!options.skipAnalyze) await p.analyze();
      const warm = await runStep(p, warmupRate, options.warmupSeconds!, options, options.signal);
      log(`  warm-up: p50 ${warm.p50Ms.toFixed(0)} ms, p99 ${warm.p99Ms.toFixed(0)} ms, ${warm.unfinished} unfinished; by scheduled second (p50/max ms): ${timelineText(warm.timeline)}`);
      sent.set(p, sent.get(p)! + warm.sent);
      if (warm.unfinished > 0) await p.purge();
    }
    const steps: StepResult[] = [];
    const climbing = new Set(pipelines);
    for (const rate of [...options.rates].sort((a, b) => a - b)) {
      for (const p of pipelines) {
        if (!climbing.has(p)) continue;
        log(`${p.name}: ${rate}/s for ${options.seconds} s ...`);
        if (!options.skipAnalyze) await p.analyze();
        const roles = Object.entries(p.pids);
        const peaksReset = roles.every(([, pid]) => resetPeakRss(pid));
        const step = await runStep(p, rate, options.seconds, options, options.signal);
        if (peaksReset) step.peakRssMiB = Object.fromEntries(roles.map(([role, pid]) => [role, peakRssMiB(pid)]));
        steps.push(step);
        sent.set(p, sent.get(p)! + step.sent);
        log(`  p50 ${step.p50Ms.toFixed(0)} ms, p99 ${step.p99Ms.toFixed(0)} ms, drained in ${step.drainMs?.toFixed(0) ?? '-'} ms: ${step.holds ? 'holds' : 'does not hold'}`);
        if (step.holds) continue;
        log(`  latency by scheduled second (p50/max ms): ${timelineText(step.timeline)}`);
        climbing.delete(p);
        if (step.unfinished > 0) await p.purge();
      }
      if (climbing.size === 0) break;
    }
    if (options.settleStatistics) {
      log(`waiting ${STATISTICS_SETTLE_MS / 1000} s for PostgreSQL's statistics ...`);
      await new Promise((r) => setTimeout(r, STATISTICS_SETTLE_MS));
    }
    const report = async (p: Pipeline): Promise<PipelineReport> => {
      const counters = await p.counters();
      const envelopes = sent.get(p)!;
      const held = steps.filter((s) => s.pipeline === p.name && s.holds).map((s) => s.rate);
      return {
        heldRate: Math.max(0, ...held),
        envelopes,
        counters,
        perEnvelope: perEnvelopeOf(counters, envelopes),
        peakRssMiB: Object.fromEntries(Object.entries(p.pids).map(([role, pid]) => [role, peakRssMiB(pid)])),
      };
    };
    const asyaReport = await report(asya);
    const rawReport = await report(raw);
    const { log: _log, signal: _signal, ...recorded } = options;
    return { startedAt, machine, options: recorded, steps, asya: asyaReport, raw: rawReport, ratio: rawReport.heldRate > 0 ? asyaReport.heldRate / rawReport.heldRate : null };
  } finally {
    for (const p of pipelines) await p.stop();
    await broker?.close();
  }
}
