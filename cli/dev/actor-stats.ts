/**
 * The numbers of the dev table, per actor: queue depth from the transport, in-flight work and handling
 * times from a thin wrapper around the transport each sidecar consumes through, and processed and error
 * counts from the sidecar's own Prometheus counters (the ones a cluster scrapes).
 */
import type { Registry } from 'prom-client';
import type { Consumer, ConsumeOptions, DeliveryHandler, Transport } from '../../transport/transport.ts';

const SAMPLES = 256;

export class ActorCounters {
  inFlight = 0;
  private readonly durations: number[] = [];

  /** Milliseconds one delivery took in the sidecar, from receipt to ack (runtime call and routing). */
  observe(ms: number): void {
    this.durations.push(ms);
    if (this.durations.length > SAMPLES) this.durations.shift();
  }

  /** Median over the last SAMPLES deliveries; undefined before the first. */
  p50(): number | undefined {
    return this.percentile(0.5);
  }

  /** The console shows the tail too. */
  p95(): number | undefined {
    return this.percentile(0.95);
  }

  private percentile(q: number): number | undefined {
    if (this.durations.length === 0) return undefined;
    const sorted = [...this.durations].sort((a, b) => a - b);
    return sorted[Math.floor((sorted.length - 1) * q)];
  }
}

/** The transport as one sidecar sees it: the same broker, with its deliveries counted and timed. */
export function countingTransport(inner: Transport, counters: ActorCounters): Transport {
  return {
    kind: inner.kind,
    ensureQueue: (queue, options) => inner.ensureQueue(queue, options),
    deleteQueue: (queue) => inner.deleteQueue(queue),
    queueDepth: (queue) => inner.queueDepth(queue),
    publish: (queue, body, options) => inner.publish(queue, body, options),
    ack: (delivery) => inner.ack(delivery),
    nack: (delivery, options) => inner.nack(delivery, options),
    close: () => inner.close(),
    consume(queue: string, handler: DeliveryHandler, options?: ConsumeOptions): Promise<Consumer> {
      return inner.consume(
        queue,
        async (delivery, slot) => {
          counters.inFlight++;
          const started = performance.now();
          try {
            await handler(delivery, slot);
          } finally {
            counters.inFlight--;
            counters.observe(performance.now() - started);
          }
        },
        options,
      );
    },
  };
}

/** Sum of a counter over all its label sets; 0 before the sidecar registered it. */
export async function counterTotal(registry: Registry, name: string): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.reduce((sum, v) => sum + v.value, 0);
}
