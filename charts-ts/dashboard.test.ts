/**
 * The dashboard's queries name real metrics: every series it reads is registered by the sidecar (with its
 * default prefix, from the sidecar's own config loader), the gateway (Node's process metrics included, under
 * their standard names) or the controller, with the labels it groups by.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { GatewayMetrics } from '../gateway/metrics.ts';
import { loadSidecarConfig } from '../sidecar/config.ts';
import { createMetrics } from '../sidecar/metrics.ts';
import { ACTOR_LABEL, DASHBOARD_ROWS, dashboardExpressions, grafanaDashboard, SIDECAR_PREFIX } from './dashboard.ts';

interface MetricInfo {
  name: string;
  type: string;
  labels: Set<string>;
}

async function registered(): Promise<Map<string, MetricInfo>> {
  const config = loadSidecarConfig({ ASYA_ACTOR_NAME: 'probe', ASYA_SOCKET_DIR: '/tmp' });
  expect(config.metricsNamespace).toBe(SIDECAR_PREFIX);
  const registries = [createMetrics(config, 'rabbitmq').registry, new GatewayMetrics().registry];
  const map = new Map<string, MetricInfo>(controllerMetrics().map((m) => [m.name, m]));
  for (const registry of registries) {
    for (const metric of registry.getMetricsAsArray()) {
      const m = metric as unknown as { name: string; type: string; labelNames?: string[] };
      map.set(m.name, { name: m.name, type: String(m.type), labels: new Set(m.labelNames ?? []) });
    }
  }
  return map;
}

/**
 * The controller builds its registry inside startController (not exported), so its metrics are read from
 * the source: `new Counter({ name: '…', …, labelNames: […] })`.
 */
function controllerMetrics(): MetricInfo[] {
  const source = readFileSync(new URL('../controller/controller.ts', import.meta.url), 'utf8');
  const found = [...source.matchAll(/new (Counter|Gauge|Histogram)\(\{ name: '([a-z_]+)'([^}]*)\}/g)].map((m) => ({
    name: m[2]!,
    type: m[1]!.toLowerCase(),
    labels: new Set((/labelNames: \[([^\]]*)\]/.exec(m[3]!)?.[1] ?? '').split(',').map((l) => l.trim().replace(/'/g, '')).filter(Boolean)),
  }));
  expect(found.length).toBeGreaterThan(0);
  return found;
}

/** Metric names in an expression: Asya's own, and Node's standard process metrics. */
function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\b(?:asya|process|nodejs)_[a-z0-9_]+\b/g)].map((m) => m[0]).filter((n) => n !== ACTOR_LABEL);
}

/** Labels every scraped series gets from its target rather than from the metric (ServiceMonitor, PodMonitor). */
const TARGET_LABELS = new Set(['le', 'pod', ACTOR_LABEL]);

describe('Grafana dashboard', () => {
  test('every queried metric exists, histograms through their _bucket series', async () => {
    const metrics = await registered();
    const used = new Set<string>();
    for (const expr of dashboardExpressions()) {
      for (const name of metricsIn(expr)) {
        const base = name.replace(/_bucket$/, '');
        const info = metrics.get(base);
        expect(info, `${name} in ${expr}`).toBeDefined();
        if (name.endsWith('_bucket')) expect(info!.type, name).toBe('histogram');
        used.add(base);
      }
    }
    // Every metric the sidecar, gateway and controller export has a panel; Node's process metrics are
    // there for stock Node.js dashboards, and the gateway row shows a few of them.
    expect([...metrics.keys()].filter((n) => n.startsWith('asya_') && !used.has(n))).toEqual([]);
    expect([...used].filter((n) => !n.startsWith('asya_')).length).toBeGreaterThan(0);
  });

  test('grouping labels are labels the metric has (or the PodMonitor adds)', async () => {
    const metrics = await registered();
    for (const expr of dashboardExpressions()) {
      const groups = [...expr.matchAll(/by \(([^)]*)\)/g)].flatMap((m) => m[1]!.split(',').map((s) => s.trim()));
      const names = metricsIn(expr).map((n) => n.replace(/_bucket$/, ''));
      for (const label of groups.filter((l) => !TARGET_LABELS.has(l))) {
        expect(names.some((n) => metrics.get(n)?.labels.has(label)), `${label} in ${expr}`).toBe(true);
      }
    }
  });

  test("Node's process metrics keep their standard names, with no component prefix", async () => {
    const names = (await new GatewayMetrics().registry.getMetricsAsJSON()).map((m) => m.name);
    expect(names).toEqual(expect.arrayContaining(['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_heap_size_used_bytes']));
    expect(names.filter((n) => !n.startsWith('asya_gateway_')).every((n) => /^(process|nodejs)_/.test(n))).toBe(true);
  });

  test('panels have unique ids, a Prometheus data source and queries', () => {
    const dashboard = grafanaDashboard() as { panels: { id: number; type: string; targets?: { expr: string; refId: string }[]; datasource?: { type: string } }[] };
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const graphs = dashboard.panels.filter((p) => p.type !== 'row');
    const extraQueries = DASHBOARD_ROWS.flatMap((r) => r.panels).reduce((n, p) => n + p.exprs.length - 1, 0);
    expect(graphs.length).toBe(dashboardExpressions().length - extraQueries);
    for (const p of graphs) {
      expect(p.datasource?.type).toBe('prometheus');
      expect(p.targets!.length).toBeGreaterThan(0);
    }
  });
});
