/** The e2e report as tables for stdout (bench/support.ts printTable). */
import { total, type Counts } from './counters.ts';
import type { E2eReport } from './bench.ts';

type Row = Record<string, string | number>;

const ms = (v: number | null) => (v === null ? 'never' : Number.isFinite(v) ? Math.round(v) : '∞');

function countRows(kind: string, asya: Counts, raw: Counts): Row[] {
  const keys = [...new Set([...Object.keys(asya), ...Object.keys(raw)])].sort();
  const fmt = (v: number | undefined) => (v === undefined ? '' : v.toFixed(2));
  return [
    ...keys.map((k) => ({ counter: `${kind}: ${k}`, asya: fmt(asya[k]), raw: fmt(raw[k]) })),
    { counter: `${kind}: total`, asya: fmt(total(asya)), raw: fmt(total(raw)) },
  ];
}

export function formatReport(report: E2eReport): Array<{ title: string; rows: Row[] }> {
  const { options } = report;
  const steps = report.steps.map((s) => ({
    pipeline: s.pipeline,
    'rate/s': s.rate,
    'sent/s': s.sentPerSecond,
    sent: s.sent,
    ok: s.succeeded,
    failed: s.failed,
    unfinished: s.unfinished,
    'in flight at end': s.inFlightAtLastSend,
    'queued at end': Object.entries(s.backlogAtLastSend).map(([stage, n]) => `${stage} ${n}`).join(', '),
    'p50 ms': ms(s.p50Ms),
    'p99 ms': ms(s.p99Ms),
    'max ms': ms(s.maxMs),
    'drain ms': ms(s.drainMs),
    'CPU ms/env': Object.values(s.cpuMsPerEnvelope).reduce((a, b) => a + b, 0),
    'servers CPU ms/env': Object.entries(s.serverCpuMsPerEnvelope ?? {}).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', '),
    load: `${s.loadAverage.before.toFixed(1)}→${s.loadAverage.after.toFixed(1)}`,
    'largest peak RSS MiB': largestPeak(s.peakRssMiB),
    holds: s.holds ? 'yes' : 'NO',
  }));
  const ratio = report.ratio === null ? 'n/a (raw held no step)' : `${Math.round(report.ratio * 100)}%`;
  const { asya, raw } = report;
  const asyaName = report.steps.find((s) => s.pipeline !== 'raw')?.pipeline ?? 'asya';
  return [
    {
      title: `End to end, ${options.seconds} s per step, ${options.payloadBytes}-byte payloads; a step holds when p99 ≤ ${options.p99LimitMs} ms and all is final ≤ ${options.drainLimitMs} ms after the last send (CPU: the pipeline's own processes)`,
      rows: steps,
    },
    {
      title: 'Highest rate held',
      rows: [
        { pipeline: `raw (INSERT + publish, 2 hops, UPDATE + NOTIFY; ${options.rawQueueType ?? 'quorum'} queues)`, 'held calls/s': raw.heldRate, 'vs raw': '100%' },
        { pipeline: `${asyaName} (REST → gateway → A → B → happy-end)`, 'held calls/s': asya.heldRate, 'vs raw': ratio },
      ],
    },
    {
      title: 'Peak RSS over the run, MiB (VmHWM of each process)',
      rows: [
        ...Object.entries(asya.peakRssMiB).map(([process, mib]) => ({ pipeline: asyaName, process, 'peak RSS MiB': mib.toFixed(0) })),
        ...Object.entries(raw.peakRssMiB).map(([process, mib]) => ({ pipeline: 'raw', process, 'peak RSS MiB': mib.toFixed(0) })),
      ],
    },
    {
      title: `Per envelope, over the whole run (asya ${asya.envelopes} envelopes, raw ${raw.envelopes}, warm-up included)`,
      rows: [
        ...countRows('db rows', asya.perEnvelope.dbRowWrites, raw.perEnvelope.dbRowWrites),
        ...countRows('db scans', asya.perEnvelope.dbScans, raw.perEnvelope.dbScans),
        ...countRows('http', asya.perEnvelope.httpRequests, raw.perEnvelope.httpRequests),
        ...countRows('broker', asya.perEnvelope.brokerMessages, raw.perEnvelope.brokerMessages),
      ],
    },
  ];
}

/** The step's largest process by peak resident set, e.g. `gateway 175` (goal 4 of issue 16 is per process). */
function largestPeak(peaks: Record<string, number> | undefined): string {
  const [role, mib] = Object.entries(peaks ?? {})
    .filter(([, v]) => Number.isFinite(v))
    .sort((a, b) => b[1] - a[1])[0] ?? [];
  return role === undefined || mib === undefined ? '-' : `${role} ${mib.toFixed(0)}`;
}
