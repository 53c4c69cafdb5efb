/**
 * The e2e bench's machinery with one envelope per pipeline: both pipelines start, carry it to its end,
 * count what it cost, and the report is built from those counts. Nothing here is about time (the bench
 * measures time; the suite never does): no latency, rate or hold verdict is asserted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RABBITMQ_URL } from '../../test/support/rabbitmq.ts';
import { resetPeakRss } from '../support.ts';
import { startAsyaPipeline } from './asya-pipeline.ts';
import { openBroker, type BenchBroker } from './brokers.ts';
import { startDevPipeline } from './dev-pipeline.ts';
import type { E2eReport, PipelineReport } from './bench.ts';
import { total } from './counters.ts';
import { perEnvelopeOf, type Pipeline, type PipelineCounters } from './pipeline.ts';
import { startRawPipeline } from './raw-pipeline.ts';
import { formatReport } from './report.ts';
import { runStep, type StepResult } from './step.ts';

const RULE = { p99LimitMs: 1000, drainLimitMs: 2000, settleMs: 60_000 };
let asya: Pipeline;
let raw: Pipeline;
let rabbitmq: BenchBroker;

beforeAll(async () => {
  rabbitmq = await openBroker('rabbitmq', RABBITMQ_URL);
  [asya, raw] = await Promise.all([startAsyaPipeline(rabbitmq, 64), startRawPipeline(RABBITMQ_URL, 64)]);
}, 180_000);

afterAll(async () => {
  await Promise.allSettled([asya?.stop(), raw?.stop()]);
  await rabbitmq?.close();
}, 60_000);

/** Counters once PostgreSQL has published the row writes (its backends do so when idle, within ~10 s). */
async function countersWithRows(p: Pipeline, minRows: number): Promise<PipelineCounters> {
  await expect.poll(async () => total((await p.counters()).dbRowWrites), { timeout: 40_000, interval: 500 }).toBeGreaterThanOrEqual(minRows);
  return p.counters();
}

describe('bench/e2e machinery', () => {
  it('carries one envelope through each pipeline, counts its cost and reports it', { timeout: 150_000 }, async () => {
    const steps: StepResult[] = [];
    for (const p of [asya, raw]) {
      const step = await runStep(p, 1, 1, RULE);
      expect(step, JSON.stringify(step.errors)).toMatchObject({ pipeline: p.name, sent: 1, succeeded: 1, failed: 0, unfinished: 0 });
      expect(Object.keys(step.cpuMsPerEnvelope).length).toBeGreaterThan(0);
      // PostgreSQL runs on this machine in the tests, so its backends' CPU is found by their command.
      expect(Object.keys(step.serverCpuMsPerEnvelope)).toContain('postgres');
      expect(Object.keys(step.backlogAtLastSend)).toHaveLength(3);
      steps.push(step);
    }

    // The raw pipeline writes exactly one INSERT and one UPDATE; Asya at least its envelope row and a final.
    const rawCounters = await countersWithRows(raw, 2);
    expect(rawCounters.dbRowWrites).toEqual({ 'raw_envelopes insert': 1, 'raw_envelopes update': 1 });
    expect(rawCounters.brokerMessages).toEqual({ client: 1, 'hops a + b (by construction)': 2 });
    // The finisher's UPDATE finds its row by a scan (an index or, on a table this small, a sequential one).
    expect(total(rawCounters.dbScans)).toBeGreaterThanOrEqual(1);
    const asyaCounters = await countersWithRows(asya, 2);
    expect(asyaCounters.dbRowWrites['envelopes insert']).toBe(1);
    expect(asyaCounters.dbRowWrites['envelopes update']).toBeGreaterThanOrEqual(1);
    expect(total(asyaCounters.dbScans)).toBeGreaterThanOrEqual(2);
    expect(asyaCounters.httpRequests['/tools/call']).toBe(1);
    expect(asyaCounters.httpRequests['/envelopes/:id/stream']).toBe(1);
    expect(asyaCounters.httpRequests['/metrics']).toBeUndefined();
    expect(asyaCounters.brokerMessages['gateway (tool calls)']).toBe(1);
    expect(asyaCounters.brokerMessages['sidecar a']).toBeGreaterThanOrEqual(1);
    expect(asyaCounters.brokerMessages['sidecar b']).toBeGreaterThanOrEqual(1);

    const pipelineReport = (counters: PipelineCounters): PipelineReport => ({
      heldRate: 1,
      envelopes: 1,
      counters,
      perEnvelope: perEnvelopeOf(counters, 1),
      peakRssMiB: { gateway: 90 },
    });
    const report: E2eReport = {
      startedAt: new Date().toISOString(),
      machine: { cores: 2, node: process.version, loadAverageAtStart: [0, 0, 0] },
      options: { rabbitmqUrl: RABBITMQ_URL, transport: 'rabbitmq', rates: [1], seconds: 1, payloadBytes: 64, warmupCalls: 0, settleStatistics: true, ...RULE },
      steps,
      asya: pipelineReport(asyaCounters),
      raw: pipelineReport(rawCounters),
      ratio: 1,
    };
    // runE2e sets each step's peaks after resetting them (resetPeakRss); here the first step has some, the other none.
    expect(resetPeakRss(process.pid)).toBe(true);
    steps[0]!.peakRssMiB = { gateway: 175, 'sidecar a': 80, runtime: Number.NaN };
    const tables = formatReport(report);
    expect(tables.map((t) => t.rows.length)).toEqual([2, 2, 2, expect.any(Number)]);
    expect(tables[0]!.rows.map((r) => r.pipeline)).toEqual(['asya (rabbitmq)', 'raw']);
    expect(tables[0]!.rows.map((r) => r['largest peak RSS MiB'])).toEqual(['gateway 175', '-']);
    expect(tables[1]!.rows.map((r) => r['vs raw'])).toEqual(['100%', '100%']);
    expect(tables[2]!.rows.map((r) => r.process)).toEqual(['gateway', 'gateway']);
    const perEnvelopeRows = Object.fromEntries(tables[3]!.rows.map((r) => [r.counter, r]));
    expect(perEnvelopeRows['broker: total']).toEqual({ counter: 'broker: total', asya: expect.stringMatching(/^\d+\.\d\d$/), raw: '3.00' });
    expect(perEnvelopeRows['http: /tools/call']).toMatchObject({ asya: '1.00', raw: '' });
    expect(JSON.parse(JSON.stringify(report))).toMatchObject({ asya: { envelopes: 1 }, raw: { envelopes: 1 } });
  });
});

describe('bench/e2e legs', () => {
  // One envelope each: the SQS leg's processes find moto's queues, and asya dev's pipeline answers the same client.
  it('carries one envelope through the pipeline on SQS (moto)', { timeout: 180_000 }, async () => {
    const sqs = await openBroker('sqs', RABBITMQ_URL);
    try {
      const pipeline = await startAsyaPipeline(sqs, 64);
      try {
        const step = await runStep(pipeline, 1, 1, RULE);
        expect(step, JSON.stringify(step.errors)).toMatchObject({ pipeline: 'asya (sqs)', sent: 1, succeeded: 1, failed: 0, unfinished: 0 });
        expect(await pipeline.backlog()).toEqual({ a: 0, b: 0, 'happy-end': 0 });
        const counters = await pipeline.counters();
        expect(counters.brokerMessages).toMatchObject({ 'gateway (tool calls)': 1, 'sidecar a': 1, 'sidecar b': 1 });
      } finally {
        await pipeline.stop();
      }
    } finally {
      await sqs.close();
    }
  });

  it('carries one envelope through asya dev (memory transport) and counts its HTTP requests', { timeout: 180_000 }, async () => {
    const pipeline = await startDevPipeline(64);
    try {
      expect(Object.keys(pipeline.pids).length).toBeGreaterThanOrEqual(3);
      const step = await runStep(pipeline, 1, 1, RULE);
      expect(step, JSON.stringify(step.errors)).toMatchObject({ pipeline: 'asya (asya dev, memory)', sent: 1, succeeded: 1, failed: 0, unfinished: 0 });
      const counters = await pipeline.counters();
      expect(counters.httpRequests).toMatchObject({ '/tools/call': 1, '/envelopes/:id/stream': 1 });
      expect(counters.brokerMessages).toEqual({ 'gateway (tool calls)': 1 });
    } finally {
      await pipeline.stop();
    }
  });
});
