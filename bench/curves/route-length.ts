/** Throughput and p99 against route length (1 to 10 hops) on RabbitMQ. */
import { RABBITMQ_URL } from '../../test/support/rabbitmq.ts';
import { throughputAndP99, type Curve } from './curve.ts';
import { LINE_IN_FLIGHT, openHopLines } from './hop-line.ts';

const SIDES = [{ key: 'asya', label: 'Asya' }, { key: 'raw', label: 'raw' }];
const PAYLOAD_BYTES = 1024;

export const routeLengthCurve: Curve = {
  name: 'route-length',
  title: 'A route of 1 to 10 hops on RabbitMQ',
  method:
    `A line of as many actors as the longest route, started once: each \`asya sidecar\` with its own Node runtime (echo, defaults: concurrency 1), ` +
    `against as many raw routers (bench/hop/raw-forwarder.mjs \`route\`, one handler each, with the sidecar's prefetch window), in the same run; an envelope of 1 KiB whose route ` +
    `is the first n actors, then a collector. Closed loop with ${LINE_IN_FLIGHT} envelopes in flight; latency from publish to ` +
    `leaving the last hop; CPU is the whole line's processes per envelope.`,
  x: { label: 'hops', log: false, format: String },
  points: { full: [1, 2, 3, 4, 6, 8, 10], quick: [1, 4, 10] },
  panels: [
    ...throughputAndP99('envelopes/s', SIDES),
    { title: 'CPU per envelope', unit: 'ms', series: SIDES.map((s) => ({ key: `${s.key} CPU`, label: s.label })) },
  ],
  ratios: [{ label: 'Asya ÷ raw (envelopes/s)', of: 'asya/s', to: 'raw/s' }],
  open: (context) => openHopLines(process.env.ASYA_BENCH_RABBITMQ_URL ?? RABBITMQ_URL, Math.max(...context.points), context, (hops) => ({ length: hops, bytes: PAYLOAD_BYTES })),
};
