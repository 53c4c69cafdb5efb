/** Throughput and p99 against fan-out width (1 to 1,000 children), until the parent is final at the gateway. */
import { RABBITMQ_URL } from '../../test/support/rabbitmq.ts';
import { cpuMs } from '../support.ts';
import { closedLoop } from './closed-loop.ts';
import { formatCount, loopValues, type Curve, type CurveSession } from './curve.ts';
import { startAsyaFanOut, startRawFanOut, type FanOutPipeline } from './fan-out-pipelines.ts';

const SIDES = [{ key: 'asya', label: 'Asya' }, { key: 'raw', label: 'raw' }];
/** The roles of startAsyaFanOut's pids. */
const ASYA_ROLES = ['gateway', 'sidecar', 'runtime', 'happy-end'];
/** Parents in flight at once. */
const CONCURRENCY = 2;

export const fanOutCurve: Curve = {
  name: 'fan-out',
  title: 'Fan-out width, until the parent is final',
  method:
    'One tool call whose actor fans out into n children, until the client sees the parent final: `asya gateway` on PostgreSQL, ' +
    'one actor (`asya sidecar` + Node runtime returning n elements) and `asya crew happy-end` on RabbitMQ, each its own process ' +
    '(bench/curves/fan-out-pipelines.ts), against a raw pipeline in the same run: INSERT + publish, a fanner that INSERTs the ' +
    'children in one statement and publishes each, a finisher that marks each child and counts it on the parent in one statement ' +
    `(NOTIFY when complete). Closed loop, ${CONCURRENCY} parents in flight; throughput in children per second; latency per parent; ` +
    "CPU is the pipeline's own processes per child (not PostgreSQL's or RabbitMQ's).",
  x: { label: 'children per call', log: true, format: formatCount },
  points: { full: [1, 10, 50, 100, 250, 500, 1000], quick: [1, 10, 100, 1000] },
  panels: [
    { title: 'children finished', unit: 'per s', logY: true, series: SIDES.map((s) => ({ key: `${s.key} children/s`, label: s.label })) },
    { title: 'p99 to the final', unit: 'ms', logY: true, series: SIDES.map((s) => ({ key: `${s.key} p99`, label: s.label })) },
    { title: 'CPU per child', unit: 'ms', series: SIDES.map((s) => ({ key: `${s.key} CPU`, label: s.label })) },
    // Where Asya's CPU goes: the process that grows with the children is the knee's cause.
    { title: 'Asya CPU per child, by process', unit: 'ms', series: ASYA_ROLES.map((role) => ({ key: `asya CPU ${role}`, label: role })) },
  ],
  ratios: [{ label: 'Asya ÷ raw (children/s)', of: 'asya children/s', to: 'raw children/s' }],
  async open(context): Promise<CurveSession> {
    const url = process.env.ASYA_BENCH_RABBITMQ_URL ?? RABBITMQ_URL;
    const pipelines: FanOutPipeline[] = [];
    const close = async () => {
      for (const p of pipelines) await p.stop();
    };
    try {
      context.log('  starting the Asya pipeline (gateway, fan-out actor, happy-end) and the raw one ...');
      pipelines.push(await startAsyaFanOut(url), await startRawFanOut(url));
    } catch (err) {
      await close();
      throw err;
    }
    return {
      async measure(width) {
        const values: Record<string, number> = {};
        for (const [i, side] of SIDES.entries()) {
          const pipeline = pipelines[i]!;
          const before = Object.fromEntries(Object.entries(pipeline.pids).map(([role, pid]) => [role, cpuMs(pid)]));
          const m = await closedLoop(() => pipeline.call(width), { concurrency: CONCURRENCY, seconds: context.seconds, minCalls: CONCURRENCY, warmupCalls: 1 });
          const children = (m.calls + 1) * width;
          const perRole = Object.entries(pipeline.pids).map(([role, pid]) => [`${side.key} CPU ${role}`, (cpuMs(pid) - before[role]!) / children] as const);
          Object.assign(values, loopValues(side.key, m), Object.fromEntries(perRole), {
            [`${side.key} children/s`]: m.perSecond * width,
            [`${side.key} CPU`]: perRole.reduce((sum, [, v]) => sum + v, 0),
          });
        }
        return values;
      },
      close,
    };
  },
};
