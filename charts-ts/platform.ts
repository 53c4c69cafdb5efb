/**
 * The deployment patterns (docs/platform.md, "Patterns") as one cdk8s App per cluster:
 *
 * | pattern       | charts                                                                   |
 * |---------------|--------------------------------------------------------------------------|
 * | minimal       | CRD, namespace, controller, crew (+ trial RabbitMQ)                      |
 * | standard      | minimal + gateway (+ trial PostgreSQL)                                   |
 * | full          | standard + ServiceMonitors, PodMonitor, Grafana dashboard                |
 * | (any)         | + NetworkPolicies when the platform settings enable networkPolicies      |
 * | multi-cluster | per cluster: minimal on a shared external broker; the first cluster also |
 * |               | runs the gateway when its external URL is given                          |
 *
 * Chart ids carry a numeric prefix so `kubectl apply -f <dir>` (name order) creates the CRD and namespace first.
 */
import { App } from 'cdk8s';
import type { KubeObject } from '../krm-functions/resource-list.ts';
import { ControllerChart } from './controller-chart.ts';
import { CrdChart } from './crd-chart.ts';
import { CrewChart } from './crew-chart.ts';
import { GatewayChart } from './gateway-chart.ts';
import { MonitoringChart } from './monitoring-chart.ts';
import { OtelCollectorChart } from './otel-collector-chart.ts';
import { NamespaceChart } from './namespace-chart.ts';
import { NetworkPolicyChart } from './network-policy-chart.ts';
import { resolveOptions, type PlatformOptions, type ResolvedOptions } from './options.ts';
import { TrialPostgresChart, TrialRabbitMqChart } from './trial-chart.ts';

export const CHART_IDS = {
  crd: '00-asya-crd',
  namespace: '01-asya-namespace',
  trialRabbitMq: '10-asya-trial-rabbitmq',
  trialPostgres: '11-asya-trial-postgresql',
  controller: '20-asya-controller',
  gateway: '30-asya-gateway',
  crew: '40-asya-crew',
  monitoring: '50-asya-monitoring',
  otelCollector: '55-asya-otel-collector',
  networkPolicies: '60-asya-network-policies',
} as const;

export interface ClusterApp {
  /** Set for multi-cluster: the output goes to <out>/<cluster>/. */
  cluster?: string;
  app: App;
  options: ResolvedOptions;
}

/** Adds the pattern's charts for one cluster to `app`. */
export function addPlatformCharts(app: App, options: ResolvedOptions): void {
  new CrdChart(app, CHART_IDS.crd);
  if (options.createNamespace) new NamespaceChart(app, CHART_IDS.namespace, options.namespace);
  if (options.trial && options.transport === 'rabbitmq') new TrialRabbitMqChart(app, CHART_IDS.trialRabbitMq, options);
  if (options.trial && options.gateway) new TrialPostgresChart(app, CHART_IDS.trialPostgres, options);
  new ControllerChart(app, CHART_IDS.controller, options);
  if (options.gateway) new GatewayChart(app, CHART_IDS.gateway, options);
  new CrewChart(app, CHART_IDS.crew, options);
  if (options.monitoring) new MonitoringChart(app, CHART_IDS.monitoring, options);
  if (options.otelCollector) new OtelCollectorChart(app, CHART_IDS.otelCollector, options);
  if (options.platform.networkPolicies?.enabled) new NetworkPolicyChart(app, CHART_IDS.networkPolicies, options);
}

/** One App per cluster; `outdir` is where `app.synth()` writes (per cluster for multi-cluster). */
export function platformApps(options: PlatformOptions = {}, outdir = 'dist'): ClusterApp[] {
  return resolveOptions(options).map((resolved) => {
    const app = new App({ outdir: resolved.cluster ? `${outdir}/${resolved.cluster}` : outdir });
    addPlatformCharts(app, resolved);
    return { ...(resolved.cluster ? { cluster: resolved.cluster } : {}), app, options: resolved };
  });
}

/** Every object of every chart of an App, in file order. */
export function appObjects(app: App): KubeObject[] {
  return app.charts.flatMap((chart) => chart.toJson() as KubeObject[]);
}
