/**
 * A line of hops on RabbitMQ, for the payload and route-length curves: `hops` actors started once, each
 * either `asya sidecar` with the Node runtime's echo (defaults: concurrency 1, persistent messages,
 * publisher confirms) or the raw forwarder in its routing mode (bench/hop/raw-forwarder.mjs `route`,
 * one handler, with the sidecar's prefetch window), and a collector on the line's output queue in this process. `send(length, bytes)` publishes an envelope whose route is the first `length`
 * actors then the output, and resolves when it arrives there, so one line serves every route length.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import amqp from 'amqplib';
import { fixtureHandler, startRuntime, type RuntimeProcess } from '../../test/support/runtime-process.ts';
import { startAsya, startNodeScript, type BenchProcess } from '../processes.ts';
import { cpuMs, freshActorQueue } from '../support.ts';
import { closedLoop } from './closed-loop.ts';
import { loopValues, type CurveContext, type CurveSession } from './curve.ts';
import { queueName } from '../../protocol/queues.ts';
import { prefetchFor } from '../../transport/rabbitmq/rabbitmq-consumer.ts';
import { withDeadLetterQueues } from '../../test/support/queues.ts';

export type HopKind = 'asya' | 'raw';

export interface HopLine {
  /** The processes of the line by role (CPU, RSS). */
  readonly pids: Record<string, number>;
  send(length: number, payloadBytes: number): Promise<void>;
  stop(): Promise<void>;
}

const ID_FIELD = Buffer.from('"id":"');
/** A message not out of the line by then is reported lost instead of hanging the curve. */
const ARRIVAL_TIMEOUT_MS = 180_000;

export async function openHopLine(url: string, kind: HopKind, hops: number): Promise<HopLine> {
  const prefix = `bench-curve-${kind}-${randomUUID().slice(0, 6)}`;
  const actors = Array.from({ length: hops }, (_, i) => `${prefix}-${i + 1}`);
  const output = `${prefix}-out`;
  const connection = await amqp.connect(url, { noDelay: true });
  const channel = await connection.createConfirmChannel();
  const processes: BenchProcess[] = [];
  const runtimes: RuntimeProcess[] = [];
  const waiting = new Map<string, () => void>();
  const payloads = new Map<number, string>();

  const stop = async () => {
    await Promise.allSettled(processes.map((p) => p.stop()));
    await Promise.allSettled(runtimes.map((r) => r.stop()));
    // A sidecar makes each actor's dead-letter queue beside its queue; both outlive the run unless deleted.
    for (const queue of withDeadLetterQueues([...actors, output].map(queueName))) await channel.deleteQueue(queue).catch(() => {});
    await connection.close().catch(() => {});
  };

  try {
    await channel.assertExchange('asya', 'topic', { durable: true });
    for (const actor of [...actors, output]) await freshActorQueue(channel, actor);
    const collect = await connection.createChannel();
    await collect.prefetch(200);
    await collect.consume(`asya-${output}`, (msg) => {
      if (!msg) return;
      // The first `"id":"` of the envelope is its own id (the payload holds none): no parse of a 10 MiB body.
      const at = msg.content.indexOf(ID_FIELD) + ID_FIELD.length;
      const id = msg.content.subarray(at, msg.content.indexOf('"', at)).toString('utf8');
      collect.ack(msg);
      waiting.get(id)?.();
    });
    const pids: Record<string, number> = {};
    // Each process is kept as soon as it runs, so a start that fails midway still stops the others.
    await Promise.all(actors.map(async (actor, i) => {
      if (kind === 'raw') {
        const hop = await startNodeScript(join(import.meta.dirname, '../hop/raw-forwarder.mjs'), [url, `asya-${actor}`, 'route', '1', String(prefetchFor(1))]);
        processes.push(hop);
        pids[`hop ${i + 1}`] = hop.pid;
        return;
      }
      const runtime = await startRuntime('node', { handler: fixtureHandler('node', 'echo'), env: { ASYA_LOG_LEVEL: 'INFO' } });
      runtimes.push(runtime);
      pids[`runtime ${i + 1}`] = runtime.child.pid!;
      const hop = await startAsya(['sidecar'], {
        ASYA_TRANSPORT: 'rabbitmq', ASYA_RABBITMQ_URL: url, ASYA_ACTOR_NAME: actor, ASYA_SOCKET_DIR: runtime.dir,
        ASYA_METRICS_ENABLED: 'false', ASYA_LOG_LEVEL: 'INFO', ASYA_RUNTIME_TIMEOUT: '120s',
      }, 'Consuming');
      processes.push(hop);
      pids[`hop ${i + 1}`] = hop.pid;
    }));

    return {
      pids,
      async send(length, payloadBytes) {
        if (length < 1 || length > hops) throw new Error(`route length ${length} is outside this line's 1..${hops} hops`);
        let pad = payloads.get(payloadBytes);
        if (pad === undefined) payloads.set(payloadBytes, (pad = 'x'.repeat(payloadBytes)));
        const id = randomUUID();
        let timer: NodeJS.Timeout | undefined;
        const arrived = new Promise<void>((resolve, reject) => {
          waiting.set(id, resolve);
          timer = setTimeout(() => reject(new Error(`envelope ${id} did not leave the ${length}-hop route within ${ARRIVAL_TIMEOUT_MS / 1000} s`)), ARRIVAL_TIMEOUT_MS);
        });
        const body = Buffer.from(JSON.stringify({ id, route: { actors: [...actors.slice(0, length), output], current: 0 }, payload: { pad } }));
        try {
          await new Promise<void>((resolve, reject) =>
            channel.publish('asya', actors[0]!, body, { persistent: true, contentType: 'application/json' }, (err) => (err ? reject(err) : resolve())),
          );
          await arrived;
        } finally {
          clearTimeout(timer);
          waiting.delete(id);
        }
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Envelopes in flight on a line during a measurement: enough that no hop waits for the publisher. */
export const LINE_IN_FLIGHT = 8;

/**
 * Both lines, Asya's and the raw one, for a curve of hops: opened together, measured one after the other at
 * each point (closed loop, LINE_IN_FLIGHT envelopes), with the CPU the line's own processes spent per
 * envelope. Values: `asya/s`, `asya p99`, `asya CPU`, `asya MiB/s` and the same for `raw`.
 */
export async function openHopLines(url: string, hops: number, context: CurveContext, route: (x: number) => { length: number; bytes: number }): Promise<CurveSession> {
  const lines: Partial<Record<HopKind, HopLine>> = {};
  const close = async () => {
    for (const line of Object.values(lines)) await line.stop();
  };
  try {
    for (const kind of ['asya', 'raw'] as const) {
      context.log(`  starting the ${kind} line of ${hops} hop(s) ...`);
      lines[kind] = await openHopLine(url, kind, hops);
    }
  } catch (err) {
    await close();
    throw err;
  }
  return {
    async measure(x) {
      const { length, bytes } = route(x);
      const values: Record<string, number> = {};
      for (const kind of ['asya', 'raw'] as const) {
        const line = lines[kind]!;
        const pids = Object.values(line.pids);
        const cpuBefore = pids.reduce((sum, pid) => sum + cpuMs(pid), 0);
        const m = await closedLoop(() => line.send(length, bytes), { concurrency: LINE_IN_FLIGHT, seconds: context.seconds, minCalls: LINE_IN_FLIGHT, warmupCalls: 2 });
        const cpu = pids.reduce((sum, pid) => sum + cpuMs(pid), 0) - cpuBefore;
        Object.assign(values, loopValues(kind, m), { [`${kind} CPU`]: cpu / (m.calls + 2), [`${kind} MiB/s`]: (m.perSecond * bytes) / (1024 * 1024) });
      }
      return values;
    },
    close,
  };
}
