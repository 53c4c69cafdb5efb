/**
 * Prometheus-operator scrape configs and the Grafana dashboard. The gateway and the controller have
 * Services, so ServiceMonitors; actor pods have none (a Deployment actor needs no Service), so one
 * PodMonitor finds every sidecar in every namespace by the pod label asya.sh/asya.
 */
import { ApiObject, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-33';
import type { Construct } from 'constructs';
import { ACTOR_POD_LABEL } from '../krm-functions/inject-sidecar/pod-template.ts';
import { grafanaDashboard } from './dashboard.ts';
import { platformLabels, selectorFor } from './labels.ts';
import { CONTROLLER_NAME, GATEWAY_NAME, type ResolvedOptions } from './options.ts';

export const MONITORING_API_VERSION = 'monitoring.coreos.com/v1';
/** The label the Grafana Helm chart's dashboard sidecar looks for. */
export const GRAFANA_DASHBOARD_LABEL = 'grafana_dashboard';

export class MonitoringChart extends Chart {
  constructor(scope: Construct, id: string, options: ResolvedOptions) {
    super(scope, id);
    const namespace = options.namespace;
    const labels = { ...platformLabels('asya-monitoring', 'monitoring'), ...options.monitoringLabels };
    const serviceMonitor = (target: string, service: string, port: string) =>
      new ApiObject(this, `service-monitor-${target}`, {
        apiVersion: MONITORING_API_VERSION,
        kind: 'ServiceMonitor',
        metadata: { name: target, namespace, labels },
        spec: {
          selector: { matchLabels: selectorFor(service) },
          namespaceSelector: { matchNames: [namespace] },
          endpoints: [{ port, path: '/metrics', interval: '30s' }],
        },
      });
    if (options.gateway) serviceMonitor(GATEWAY_NAME, GATEWAY_NAME, 'http');
    serviceMonitor(CONTROLLER_NAME, CONTROLLER_NAME, 'metrics');
    new ApiObject(this, 'pod-monitor-actors', {
      apiVersion: MONITORING_API_VERSION,
      kind: 'PodMonitor',
      metadata: { name: 'asya-actors', namespace, labels },
      spec: {
        selector: { matchExpressions: [{ key: ACTOR_POD_LABEL, operator: 'Exists' }] },
        namespaceSelector: { any: true },
        // The actor's name on every series, for the dashboard's per-actor panels.
        podTargetLabels: [ACTOR_POD_LABEL],
        podMetricsEndpoints: [{ port: 'metrics', path: '/metrics', interval: '30s' }],
      },
    });
    new k8s.KubeConfigMap(this, 'dashboard', {
      metadata: { name: 'asya-dashboard', namespace, labels: { ...labels, [GRAFANA_DASHBOARD_LABEL]: '1' } },
      data: { 'asya.json': JSON.stringify(grafanaDashboard(), null, 2) },
    });
  }
}
