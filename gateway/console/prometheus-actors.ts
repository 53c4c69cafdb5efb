/**
 * The actors' numbers in a cluster, where the gateway runs none of them: each sidecar exports its counters
 * as Prometheus metrics (docs/operations.md, "Metrics"), and this asks the Prometheus that scrapes them,
 * with instant queries grouped by the `queue` label (`asya-<actor>`). Queue depth is not a sidecar metric:
 * it comes from the gateway's own transport, as under `asya dev`. The shape is the one `asya dev` serves.
 */
import { actorFromQueue, QUEUE_PREFIX } from '../../protocol/queues.ts';
import { errorText } from '../../protocol/errors.ts';
import { HttpError } from '../http/errors.ts';
import type { Transport } from '../../transport/transport.ts';
import type { ActorStats, ConsoleSources } from './sources.ts';

export interface PrometheusActorsOptions {
  /** Prometheus's base URL (its HTTP API is under /api/v1). */
  url: string;
  /** Extra label matchers for every query, e.g. `namespace="ml-prod"`. */
  selector?: string | undefined;
  /** The sidecars' ASYA_METRICS_NAMESPACE. */
  metricsNamespace: string;
  /** Ready and delayed messages in a queue; undefined when it cannot be read. */
  queueDepth?: (queue: string) => Promise<number | undefined>;
  /** Over which window the p50 and p95 are taken. @default QUANTILE_WINDOW */
  window?: string;
  /** @default 5000 */
  timeoutMs?: number;
}

export const QUANTILE_WINDOW = '5m';

interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** The queries, by the field of ActorStats each one fills; exported so a test can name what it relies on. */
export function actorQueries(options: Pick<PrometheusActorsOptions, 'selector' | 'metricsNamespace' | 'window'>) {
  const matchers = [`queue=~"${QUEUE_PREFIX}.+"`, ...(options.selector?.trim() ? [options.selector.trim()] : [])].join(', ');
  const metric = (name: string) => `${options.metricsNamespace}_${name}{${matchers}}`;
  const window = options.window ?? QUANTILE_WINDOW;
  const quantile = (q: number) => `histogram_quantile(${q}, sum by (queue, le) (rate(${metric('processing_duration_seconds_bucket')}[${window}])))`;
  return {
    // Every running sidecar has this gauge from its start: it names the actors and counts their pods.
    pods: `count by (queue) (${metric('active_messages')})`,
    inFlight: `sum by (queue) (${metric('active_messages')})`,
    processed: `sum by (queue) (${metric('messages_processed_total')})`,
    errors: `sum by (queue) (${metric('messages_failed_total')})`,
    p50: quantile(0.5),
    p95: quantile(0.95),
  };
}

/** A source for ConsoleSources.actors. Rejects with a 502 naming Prometheus when it cannot be read. */
export function prometheusActors(options: PrometheusActorsOptions): () => Promise<ActorStats[]> {
  const queries = actorQueries(options);
  const base = options.url.replace(/\/+$/, '');
  const query = async (promql: string): Promise<Map<string, number>> => {
    let answer: { status?: string; error?: string; data?: { resultType?: string; result?: VectorSample[] } };
    try {
      const res = await fetch(`${base}/api/v1/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ query: promql }),
        signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
      });
      answer = (await res.json()) as typeof answer;
      if (!res.ok || answer.status !== 'success') throw new Error(`HTTP ${res.status}: ${answer.error ?? 'no error given'}`);
    } catch (err) {
      throw new HttpError(502, `Prometheus at ${base} could not be read (ASYA_GATEWAY_PROMETHEUS_URL): ${errorText(err)}`);
    }
    if (answer.data?.resultType !== 'vector') throw new HttpError(502, `Prometheus at ${base} answered a ${answer.data?.resultType ?? 'missing'} result where a vector was expected`);
    const byQueue = new Map<string, number>();
    for (const sample of answer.data.result ?? []) {
      const queue = sample.metric.queue;
      const value = Number(sample.value[1]);
      // histogram_quantile gives NaN for a queue with no message in the window: no figure, not zero.
      if (queue && Number.isFinite(value)) byQueue.set(queue, value);
    }
    return byQueue;
  };
  return async () => {
    const [pods, inFlight, processed, errors, p50, p95] = await Promise.all([queries.pods, queries.inFlight, queries.processed, queries.errors, queries.p50, queries.p95].map(query));
    const queues = [...pods!.keys()].sort();
    const ms = (seconds: number | undefined) => (seconds === undefined ? undefined : seconds * 1000);
    return Promise.all(
      queues.map(async (queue): Promise<ActorStats> => {
        const count = pods!.get(queue) ?? 0;
        return {
          name: actorFromQueue(queue),
          state: `${count} pod${count === 1 ? '' : 's'}`,
          queued: await options.queueDepth?.(queue).catch(() => undefined),
          inFlight: inFlight!.get(queue) ?? 0,
          processed: processed!.get(queue) ?? 0,
          errors: errors!.get(queue) ?? 0,
          p50Ms: ms(p50!.get(queue)),
          p95Ms: ms(p95!.get(queue)),
        };
      }),
    );
  };
}

/**
 * The console's actors in a cluster: the numbers from Prometheus, queue depth (ready and delayed) from the
 * broker on the gateway's own transport, and the note the page shows about where they come from.
 */
export function prometheusConsoleSource(
  options: Pick<PrometheusActorsOptions, 'url' | 'selector' | 'metricsNamespace'> & { transport: Pick<Transport, 'queueDepth'> },
): Required<Pick<ConsoleSources, 'actors' | 'actorsNote'>> {
  const { transport, ...query } = options;
  return {
    actors: prometheusActors({
      ...query,
      queueDepth: async (queue) => {
        const depth = await transport.queueDepth(queue);
        return depth.ready + depth.delayed;
      },
    }),
    actorsNote: `from Prometheus at ${options.url}${options.selector ? ` (${options.selector})` : ''}: counters since each pod started, p50 and p95 over the last ${QUANTILE_WINDOW}; queue depth from the broker`,
  };
}
