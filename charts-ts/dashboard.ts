/**
 * The Grafana dashboard: actors (sidecar metrics, prefix asya_actor_ by default), autoscaling (replicas
 * counted from the sidecars' own series), the controller and the gateway, with the gateway process's own
 * health from Node's standard process metrics. Every expression names metrics the code really exports;
 * dashboard.test.ts checks them against the registries.
 */
import { GATEWAY_NAME } from './options.ts';

/** ASYA_METRICS_NAMESPACE's default: the sidecar's metric prefix. */
export const SIDECAR_PREFIX = 'asya_actor';
/** PodMonitor copies the pod label asya.sh/asya onto every series under this name. */
export const ACTOR_LABEL = 'asya_sh_asya';

interface Panel {
  title: string;
  unit: string;
  exprs: { expr: string; legend: string }[];
  description?: string;
}

const p95 = (metric: string, by: string) => `histogram_quantile(0.95, sum by (le, ${by}) (rate(${metric}_bucket[$__rate_interval])))`;
const rate = (metric: string, by: string) => `sum by (${by}) (rate(${metric}[$__rate_interval]))`;
const actor = (name: string) => `${SIDECAR_PREFIX}_${name}`;
/** The gateway's series of Node's standard process metrics: its ServiceMonitor names the job after its Service. */
const gatewayProcess = (name: string) => `${name}{job="${GATEWAY_NAME}"}`;

export const DASHBOARD_ROWS: { title: string; panels: Panel[] }[] = [
  {
    title: 'Actors',
    panels: [
      { title: 'Messages received', unit: 'reqps', exprs: [{ expr: rate(actor('messages_received_total'), 'queue'), legend: '{{queue}}' }] },
      { title: 'Messages processed', unit: 'reqps', exprs: [{ expr: rate(actor('messages_processed_total'), 'queue, status'), legend: '{{queue}} {{status}}' }] },
      { title: 'Messages failed', unit: 'reqps', exprs: [{ expr: rate(actor('messages_failed_total'), 'queue, reason'), legend: '{{queue}} {{reason}}' }] },
      { title: 'Runtime errors', unit: 'reqps', exprs: [{ expr: rate(actor('runtime_errors_total'), 'queue, error_type'), legend: '{{queue}} {{error_type}}' }] },
      { title: 'Processing time p95', unit: 's', exprs: [{ expr: p95(actor('processing_duration_seconds'), 'queue'), legend: '{{queue}}' }] },
      { title: 'Handler time p95', unit: 's', exprs: [{ expr: p95(actor('runtime_execution_duration_seconds'), 'queue'), legend: '{{queue}}' }] },
      { title: 'Publish until confirmed p95', unit: 's', exprs: [{ expr: p95(actor('queue_send_duration_seconds'), 'destination_queue'), legend: '{{destination_queue}}' }] },
      { title: 'Envelope size p95', unit: 'bytes', exprs: [{ expr: p95(actor('envelope_size_bytes'), 'direction'), legend: '{{direction}}' }] },
      { title: 'Messages sent', unit: 'reqps', exprs: [{ expr: rate(actor('messages_sent_total'), 'destination_queue, message_type'), legend: '{{destination_queue}} {{message_type}}' }] },
      {
        title: 'End actors waiting for the gateway',
        unit: 'reqps',
        description: 'Final reports that met an unavailable gateway (held, not requeued), and held messages given back to their queue as fresh copies.',
        exprs: [
          { expr: rate(actor('gateway_unavailable_total'), 'queue'), legend: '{{queue}} unavailable' },
          { expr: rate(actor('messages_given_back_total'), 'queue'), legend: '{{queue}} given back' },
        ],
      },
    ],
  },
  {
    title: 'Autoscaling',
    panels: [
      {
        title: 'Replicas per actor',
        unit: 'short',
        description: 'Pods whose sidecar is scraped: what KEDA scaled each actor to (0 when napping).',
        exprs: [{ expr: `count by (${ACTOR_LABEL}) (${actor('active_messages')})`, legend: `{{${ACTOR_LABEL}}}` }],
      },
      {
        title: 'In-flight messages per actor',
        unit: 'short',
        exprs: [{ expr: `sum by (${ACTOR_LABEL}) (${actor('active_messages')})`, legend: `{{${ACTOR_LABEL}}}` }],
      },
    ],
  },
  {
    title: 'Controller',
    panels: [
      { title: 'Reconciles', unit: 'reqps', exprs: [{ expr: rate('asya_controller_reconcile_total', 'result'), legend: '{{result}}' }] },
      { title: 'Reconcile time p95', unit: 's', exprs: [{ expr: 'histogram_quantile(0.95, sum by (le) (rate(asya_controller_reconcile_duration_seconds_bucket[$__rate_interval])))', legend: 'p95' }] },
      { title: 'Writes to the API server', unit: 'reqps', exprs: [{ expr: rate('asya_controller_writes_total', 'kind'), legend: '{{kind}}' }] },
      {
        title: 'Work queue and leader',
        unit: 'short',
        description: 'A steady non-zero queue means reconciles fall behind; exactly one replica should lead.',
        exprs: [
          { expr: 'max(asya_controller_work_queue_depth)', legend: 'queued actors' },
          { expr: 'sum(asya_controller_leader)', legend: 'leaders' },
        ],
      },
    ],
  },
  {
    title: 'Gateway',
    panels: [
      { title: 'HTTP requests', unit: 'reqps', exprs: [{ expr: rate('asya_gateway_http_requests_total', 'route, status'), legend: '{{route}} {{status}}' }] },
      { title: 'HTTP latency p95', unit: 's', exprs: [{ expr: p95('asya_gateway_http_request_duration_seconds', 'route'), legend: '{{route}}' }] },
      { title: 'Tool calls', unit: 'reqps', exprs: [{ expr: rate('asya_gateway_tool_calls_total', 'tool, outcome'), legend: '{{tool}} {{outcome}}' }] },
      { title: 'Open SSE streams', unit: 'short', exprs: [{ expr: 'sum(asya_gateway_sse_streams)', legend: 'streams' }] },
      {
        title: 'Failures',
        unit: 'short',
        exprs: [
          { expr: 'sum(increase(asya_gateway_publish_failures_total[$__rate_interval]))', legend: 'publish refused' },
          { expr: 'sum(increase(asya_gateway_overdue_failed_total[$__rate_interval]))', legend: 'deadline passed' },
        ],
      },
      {
        title: 'Final reports (ignored: a duplicate of one already applied)',
        unit: 'short',
        exprs: [{ expr: 'sum by (outcome) (increase(asya_gateway_final_reports_total[$__rate_interval]))', legend: '{{outcome}}' }],
      },
      { title: 'Published from the outbox (first publish unconfirmed)', unit: 'short', exprs: [{ expr: 'sum(increase(asya_gateway_outbox_published_total[$__rate_interval]))', legend: 'republished' }] },
      { title: 'Envelopes deleted by retention', unit: 'short', exprs: [{ expr: 'sum(increase(asya_gateway_retention_deleted_total[$__rate_interval]))', legend: 'deleted' }] },
      { title: 'Envelope store up', unit: 'short', exprs: [{ expr: 'min(asya_gateway_store_up)', legend: 'store up' }] },
      { title: 'Request body bytes in flight', unit: 'bytes', exprs: [{ expr: 'max(asya_gateway_request_body_bytes_in_flight)', legend: 'busiest replica' }] },
      {
        title: 'Request bodies refused',
        unit: 'short',
        exprs: [{ expr: 'sum by (reason) (increase(asya_gateway_request_bodies_refused_total[$__rate_interval]))', legend: '{{reason}}' }],
      },
    ],
  },
  {
    title: 'Gateway process',
    panels: [
      { title: 'CPU per replica', unit: 'percentunit', exprs: [{ expr: `sum by (pod) (rate(${gatewayProcess('process_cpu_seconds_total')}[$__rate_interval]))`, legend: '{{pod}}' }] },
      { title: 'Resident memory per replica', unit: 'bytes', exprs: [{ expr: `sum by (pod) (${gatewayProcess('process_resident_memory_bytes')})`, legend: '{{pod}}' }] },
      { title: 'Heap used per replica', unit: 'bytes', exprs: [{ expr: `sum by (pod) (${gatewayProcess('nodejs_heap_size_used_bytes')})`, legend: '{{pod}}' }] },
      { title: 'Event loop lag p99', unit: 's', exprs: [{ expr: `max by (pod) (${gatewayProcess('nodejs_eventloop_lag_p99_seconds')})`, legend: '{{pod}}' }] },
      { title: 'Open file descriptors', unit: 'short', exprs: [{ expr: `max by (pod) (${gatewayProcess('process_open_fds')})`, legend: '{{pod}}' }] },
    ],
  },
];

/** Every PromQL expression of the dashboard, for tests. */
export const dashboardExpressions = (): string[] => DASHBOARD_ROWS.flatMap((r) => r.panels.flatMap((p) => p.exprs.map((e) => e.expr)));

/** Grafana dashboard JSON (schemaVersion 39): one row per group, panels two abreast. */
export function grafanaDashboard(): Record<string, unknown> {
  const panels: Record<string, unknown>[] = [];
  let id = 1;
  let y = 0;
  for (const row of DASHBOARD_ROWS) {
    panels.push({ id: id++, type: 'row', title: row.title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y: y++ }, panels: [] });
    row.panels.forEach((panel, i) => {
      panels.push({
        id: id++,
        type: 'timeseries',
        title: panel.title,
        ...(panel.description ? { description: panel.description } : {}),
        datasource: { type: 'prometheus', uid: '${datasource}' },
        fieldConfig: { defaults: { unit: panel.unit }, overrides: [] },
        gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: y + Math.floor(i / 2) * 8 },
        targets: panel.exprs.map((e, j) => ({ refId: String.fromCharCode(65 + j), expr: e.expr, legendFormat: e.legend, datasource: { type: 'prometheus', uid: '${datasource}' } })),
      });
    });
    y += Math.ceil(row.panels.length / 2) * 8;
  }
  return {
    uid: 'asya-overview',
    title: 'Asya',
    tags: ['asya'],
    timezone: 'browser',
    schemaVersion: 39,
    refresh: '30s',
    time: { from: 'now-1h', to: 'now' },
    templating: { list: [{ name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Data source' }] },
    panels,
  };
}
