/**
 * Node's process metrics (CPU, memory, heap, event-loop lag, GC, handles) on a component's /metrics, under
 * prom-client's standard names (`process_*`, `nodejs_*`) and never with a component's prefix, so stock
 * Node.js dashboards work on every Asya component: the gateway, the sidecar and the controller.
 *
 * They describe the process, not a component, so they are collected once per process and the same metric
 * objects are registered in every component's registry: components sharing a process (tests, `asya dev`)
 * share one set of collectors (one event-loop monitor, one GC observer).
 */
import { collectDefaultMetrics, Registry, type Metric } from 'prom-client';

let collected: Registry | undefined;

/** Adds the process metrics to `registry`; collecting starts with the first registry of the process. */
export function addProcessMetrics(registry: Registry): void {
  if (!collected) {
    collected = new Registry();
    collectDefaultMetrics({ register: collected });
  }
  // getMetricsAsArray is typed as plain descriptions, but answers the registered metric objects themselves.
  for (const metric of collected.getMetricsAsArray()) registry.registerMetric(metric as unknown as Metric);
}
