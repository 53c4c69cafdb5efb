/**
 * Runs one delivery through a real sidecar Router on the memory transport, with a scripted runtime and
 * gateway, and records everything the router did with it: what it published where (broker-confirmed), how it
 * settled the delivery, what it told the gateway, the metrics it counted. No sockets, no processes: the
 * router's decisions are the only thing under test (sidecar/router.test.ts is the table).
 */
import {
  FinalReportRejectedError,
  GatewayUnavailableError,
  QUEUE_MAX_DELIVERIES,
  dlqName,
  queueName,
  type RuntimeResult,
} from '../../protocol/index.ts';
import { Registry } from 'prom-client';
import { MemoryTransport } from '../../transport/memory.ts';
import { TransportError, type Consumer, type Delivery, type HandlerSlot, type Transport } from '../../transport/transport.ts';
import { loadSidecarConfig } from '../../sidecar/config.ts';
import type { SidecarMetrics } from '../../sidecar/metrics.ts';
import type { FanoutChild } from '../../sidecar/outcome.ts';
import type { ProgressReporter } from '../../sidecar/progress-reporter.ts';
import { Router, type RuntimeCaller } from '../../sidecar/router.ts';
import { RuntimeCallError, type RuntimeCallFailure } from '../../sidecar/runtime-client.ts';
import { capturingLogger } from './capture-logger.ts';

/** What the runtime does when called: answers (results, `[]`, an error result), fails as the client reports, or throws a bug. */
export type RuntimeStep = { answer: RuntimeResult[] } | { fail: RuntimeCallFailure } | { throws: string };

/** How the gateway answers a final report. */
export type FinalAnswer = 'accepted' | 'unavailable' | 'rejected';

export interface RouterWorld {
  actor: string;
  /** Sidecar environment beyond ASYA_ACTOR_NAME. */
  env?: Record<string, string>;
  /** One step per runtime call, in order; a call beyond the script fails the test. */
  runtime: RuntimeStep[];
  /** One answer per final report, in order; a report beyond the script fails the test. */
  finals?: FinalAnswer[];
  /** Actors whose queues exist besides this actor's own, happy-end's and error-end's. */
  otherActors?: string[];
  /** Publishes to these queues are refused with this TransportError reason. */
  refuse?: Record<string, TransportError['reason']>;
  /** The sidecar is draining when the delivery is handled. */
  draining?: boolean;
  /** The router's clock (deadlines are compared with it). */
  now?: number;
}

export interface Published {
  queue: string;
  /** The router's message kind (routing, happy_end, error_end, dlq), or given_back for a held delivery's copy. */
  kind?: string;
  envelope: unknown;
  delayMs?: number;
}

export type Settlement = 'ack' | 'requeue' | 'dead-letter';

export interface RouterRun {
  published: Published[];
  /** Publishes the (fake) broker refused, by queue. */
  refused: string[];
  settled: Settlement[];
  /** Ready messages left on the input queue and on its DLQ, as the memory broker sees them. */
  depth: { input: number; dlq: number };
  runtimeCalls: Array<{ timeoutMs: number }>;
  /** `<status>@<current_actor_idx>` per progress report. */
  progress: string[];
  children: FanoutChild[];
  finals: Array<{ id: string; status: string; answer: FinalAnswer }>;
  restarts: string[];
  /** Counted outcomes: `failed:<reason>`, `processed:<status>`, `runtime_error:<kind>`, `end_consumed`, `gateway_unavailable`, `given_back`. */
  metrics: string[];
  runtimeReachable: boolean;
  /** Whether the router gave its consumer slot back before the delivery was settled and any restart done. */
  slot: 'held' | 'released before settling';
}


export async function runRouter(world: RouterWorld, body: Buffer | object): Promise<RouterRun> {
  const config = loadSidecarConfig({ ASYA_ACTOR_NAME: world.actor, ...world.env });
  const input = queueName(world.actor);
  const memory = new MemoryTransport({ logger: capturingLogger() });
  const actors = [world.actor, config.happyEnd, config.errorEnd, ...(world.otherActors ?? [])];
  for (const q of actors.map(queueName)) await memory.ensureQueue(q, { maxDeliveries: QUEUE_MAX_DELIVERIES });
  const run: RouterRun = {
    published: [],
    refused: [],
    settled: [],
    depth: { input: 0, dlq: 0 },
    runtimeCalls: [],
    progress: [],
    children: [],
    finals: [],
    restarts: [],
    metrics: [],
    runtimeReachable: true,
    slot: 'held',
  };
  const stopping = new AbortController();
  if (world.draining) stopping.abort();
  const router = new Router({
    config,
    transport: recordingTransport(memory, world.refuse ?? {}, run),
    runtime: scriptedRuntime(world.runtime, run),
    supervisor: { restart: async (reason) => void run.restarts.push(reason) },
    reporter: scriptedGateway(world.finals ?? [], run),
    metrics: recordingMetrics(run),
    log: capturingLogger(),
    stopping: stopping.signal,
    ...(world.now === undefined ? {} : { now: () => world.now! }),
  });
  await memory.publish(input, Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body)));
  await handleOne(memory, input, (d, slot) =>
    router.handle(d, {
      release: () => {
        if (run.settled.length === 0 && run.restarts.length === 0) run.slot = 'released before settling';
        slot.release();
      },
    }),
  );
  run.runtimeReachable = router.runtimeReachable;
  run.depth = { input: (await memory.queueDepth(input)).ready, dlq: (await memory.queueDepth(dlqName(world.actor))).ready };
  await memory.close();
  return run;
}

/** Consumes exactly one delivery: the consumer detaches as the delivery arrives, so a requeued copy stays on the queue. */
async function handleOne(memory: MemoryTransport, queue: string, handle: (d: Delivery, slot: HandlerSlot) => Promise<void>): Promise<void> {
  let consumer: Consumer | undefined;
  let stopped: Promise<void> | undefined;
  const handled = new Promise<void>((resolve, reject) => {
    void memory
      .consume(queue, async (delivery, slot) => {
        stopped = consumer!.stop();
        await handle(delivery, slot).then(resolve, reject);
      })
      .then((c) => (consumer = c));
  });
  await handled;
  await stopped;
}

function recordingTransport(memory: MemoryTransport, refuse: Record<string, TransportError['reason']>, run: RouterRun): Transport {
  return {
    kind: memory.kind,
    ensureQueue: (q, o) => memory.ensureQueue(q, o),
    deleteQueue: (q) => memory.deleteQueue(q),
    queueDepth: (q) => memory.queueDepth(q),
    consume: (q, h, o) => memory.consume(q, h, o),
    close: () => memory.close(),
    async publish(queue, body, options) {
      const reason = refuse[queue];
      if (reason) {
        run.refused.push(queue);
        throw new TransportError(`the test broker refuses ${queue}`, reason);
      }
      await memory.publish(queue, body, options);
      run.published.push({ queue, envelope: JSON.parse(body.toString('utf8')), ...(options?.delayMs ? { delayMs: options.delayMs } : {}) });
    },
    async ack(delivery) {
      run.settled.push('ack');
      await memory.ack(delivery);
    },
    async nack(delivery, options) {
      run.settled.push(options?.requeue === false ? 'dead-letter' : 'requeue');
      await memory.nack(delivery, options);
    },
  };
}

function scriptedRuntime(script: RuntimeStep[], run: RouterRun): RuntimeCaller {
  return {
    async call(_body, timeoutMs) {
      const step = script[run.runtimeCalls.length];
      run.runtimeCalls.push({ timeoutMs });
      if (!step) throw new Error(`the runtime was called ${run.runtimeCalls.length} times; the script has ${script.length} steps`);
      if ('fail' in step) throw new RuntimeCallError(step.fail, `scripted ${step.fail}`);
      if ('throws' in step) throw new Error(step.throws);
      return step.answer;
    },
  };
}

function scriptedGateway(answers: FinalAnswer[], run: RouterRun): ProgressReporter {
  return {
    progress: (_id, body) => void run.progress.push(`${body.status}@${body.current_actor_idx}`),
    child: (child) => void run.children.push(child),
    async final(id, report) {
      const answer = answers[run.finals.length];
      if (!answer) throw new Error(`final report ${run.finals.length + 1} for ${id} was not scripted`);
      run.finals.push({ id, status: report.status, answer });
      if (answer === 'unavailable') throw new GatewayUnavailableError('scripted: gateway unavailable');
      if (answer === 'rejected') throw new FinalReportRejectedError('scripted: 400 bad report');
    },
    flush: async () => {},
    dropped: 0,
  };
}

function recordingMetrics(run: RouterRun): SidecarMetrics {
  const count = (what: string) => void run.metrics.push(what);
  return {
    registry: new Registry(),
    received: () => {},
    processed: (status) => count(`processed:${status}`),
    processedEnd: () => count('end_consumed'),
    failed: (reason) => count(`failed:${reason}`),
    sent: (queue, kind) => {
      const message = lastUntagged(run.published, queue);
      if (message) message.kind = kind;
    },
    runtimeDuration: () => {},
    runtimeError: (kind) => count(`runtime_error:${kind}`),
    gatewayUnavailable: () => count('gateway_unavailable'),
    givenBack: () => {
      count('given_back');
      const copy = lastUntagged(run.published);
      if (copy) copy.kind = 'given_back';
    },
    active: () => {},
  };
}

/** The router tags a message (metrics.sent) right after the broker confirmed it. */
function lastUntagged(published: Published[], queue?: string): Published | undefined {
  for (let i = published.length - 1; i >= 0; i--) {
    const p = published[i]!;
    if (p.kind === undefined && (queue === undefined || p.queue === queue)) return p;
  }
  return undefined;
}
