/** Throughput and p99 against payload size (1 KiB to 10 MiB), through one hop on RabbitMQ. */
import { RABBITMQ_URL } from '../../test/support/rabbitmq.ts';
import { formatBytes, throughputAndP99, type Curve } from './curve.ts';
import { LINE_IN_FLIGHT, openHopLines } from './hop-line.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const SIDES = [{ key: 'asya', label: 'Asya' }, { key: 'raw', label: 'raw' }];

export const payloadSizeCurve: Curve = {
  name: 'payload-size',
  title: 'One hop on RabbitMQ, by payload size',
  method:
    `One hop: \`asya sidecar\` with the Node runtime's echo (defaults, payload inline), against the raw router ` +
    `(bench/hop/raw-forwarder.mjs in its \`route\` mode: consume, parse, advance the route, publish persistent and confirmed, ack), ` +
    `each its own process, in the same run. Closed loop with ${LINE_IN_FLIGHT} envelopes in flight; latency from publish to arrival ` +
    `on the next queue; CPU is the hop's own processes (sidecar and runtime, or the router) per message.`,
  x: { label: 'payload', log: true, format: formatBytes },
  points: {
    full: [KiB, 10 * KiB, 100 * KiB, 512 * KiB, MiB, 4 * MiB, 10 * MiB],
    quick: [KiB, 100 * KiB, MiB, 10 * MiB],
  },
  panels: [
    { ...throughputAndP99('msg/s', SIDES)[0]!, logY: true },
    { title: 'bytes moved', unit: 'MiB/s', series: SIDES.map((s) => ({ key: `${s.key} MiB/s`, label: s.label })) },
    throughputAndP99('msg/s', SIDES)[1]!,
    { title: 'CPU per message', unit: 'ms', logY: true, series: SIDES.map((s) => ({ key: `${s.key} CPU`, label: s.label })) },
  ],
  ratios: [{ label: 'Asya ÷ raw (msg/s)', of: 'asya/s', to: 'raw/s' }],
  open: (context) => openHopLines(process.env.ASYA_BENCH_RABBITMQ_URL ?? RABBITMQ_URL, 1, context, (bytes) => ({ length: 1, bytes })),
};
