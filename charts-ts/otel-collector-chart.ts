/**
 * An OpenTelemetry Collector for the platform's spans (`asya synth --pattern full --otel-collector
 * jaeger|tempo`): it takes OTLP over HTTP (4318, where the gateway, sidecars and crew send) and gRPC (4317),
 * batches, and forwards over OTLP to Jaeger or Tempo, both of which take OTLP natively. The backend itself
 * is not deployed: it is the tracing store the cluster already has.
 */
import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-33';
import type { Construct } from 'constructs';
import YAML from 'yaml';
import { platformLabels, selectorFor } from './labels.ts';
import type { ResolvedOptions } from './options.ts';
import { containerSecurity, podSecurity, resources } from './security.ts';

export const OTEL_COLLECTOR_NAME = 'asya-otel-collector';
/** The core distribution: the OTLP receiver and exporter, batch and memory_limiter are all it needs. */
export const OTEL_COLLECTOR_IMAGE = 'otel/opentelemetry-collector:0.119.0';
export const OTLP_HTTP_PORT = 4318;
export const OTLP_GRPC_PORT = 4317;
const CONFIG_FILE = 'config.yaml';
/** The image's own user; the collector writes nothing to disk. */
const COLLECTOR_UID = 10001;

export const OTEL_BACKENDS = ['jaeger', 'tempo'] as const;
export type OtelBackend = (typeof OTEL_BACKENDS)[number];

/** Where each backend takes OTLP/gRPC when installed by its usual chart into `observability`. */
export const DEFAULT_BACKEND_ENDPOINTS: Record<OtelBackend, string> = {
  jaeger: 'jaeger-collector.observability.svc.cluster.local:4317',
  tempo: 'tempo.observability.svc.cluster.local:4317',
};

/** The URL the platform's components export to (the platform setting otlpEndpoint). */
export function collectorUrl(namespace: string): string {
  return `http://${OTEL_COLLECTOR_NAME}.${namespace}.svc.cluster.local:${OTLP_HTTP_PORT}`;
}

export function collectorConfig(backend: OtelBackend, endpoint: string): Record<string, unknown> {
  const exporter = `otlp/${backend}`;
  return {
    receivers: { otlp: { protocols: { http: { endpoint: `0.0.0.0:${OTLP_HTTP_PORT}` }, grpc: { endpoint: `0.0.0.0:${OTLP_GRPC_PORT}` } } } },
    processors: { memory_limiter: { check_interval: '1s', limit_percentage: 80, spike_limit_percentage: 25 }, batch: {} },
    // In-cluster traffic to the backend; put TLS settings here for a backend outside the cluster.
    exporters: { [exporter]: { endpoint, tls: { insecure: true } } },
    service: { pipelines: { traces: { receivers: ['otlp'], processors: ['memory_limiter', 'batch'], exporters: [exporter] } } },
  };
}

export class OtelCollectorChart extends Chart {
  constructor(scope: Construct, id: string, options: ResolvedOptions) {
    super(scope, id);
    const collector = options.otelCollector;
    if (!collector) throw new Error('OtelCollectorChart needs otelCollector options');
    const namespace = options.namespace;
    const labels = platformLabels(OTEL_COLLECTOR_NAME, 'otel-collector');
    const metadata = { name: OTEL_COLLECTOR_NAME, namespace, labels };
    new k8s.KubeConfigMap(this, 'config', { metadata, data: { [CONFIG_FILE]: YAML.stringify(collectorConfig(collector.backend, collector.endpoint)) } });
    const ports = [
      { name: 'otlp-http', port: OTLP_HTTP_PORT },
      { name: 'otlp-grpc', port: OTLP_GRPC_PORT },
    ];
    new k8s.KubeService(this, 'service', {
      metadata,
      spec: { selector: selectorFor(OTEL_COLLECTOR_NAME), ports: ports.map((p) => ({ name: p.name, port: p.port, targetPort: k8s.IntOrString.fromString(p.name) })) },
    });
    const probe = { tcpSocket: { port: k8s.IntOrString.fromString('otlp-http') } };
    new k8s.KubeDeployment(this, 'deployment', {
      metadata,
      spec: {
        replicas: 1,
        selector: { matchLabels: selectorFor(OTEL_COLLECTOR_NAME) },
        template: {
          metadata: { labels },
          spec: {
            automountServiceAccountToken: false,
            securityContext: podSecurity(COLLECTOR_UID),
            containers: [
              {
                name: 'otel-collector',
                image: OTEL_COLLECTOR_IMAGE,
                imagePullPolicy: 'IfNotPresent',
                args: [`--config=/etc/otelcol/${CONFIG_FILE}`],
                ports: ports.map((p) => ({ name: p.name, containerPort: p.port })),
                resources: resources({ cpu: ['50m', '500m'], memory: ['64Mi', '256Mi'] }),
                readinessProbe: { ...probe, periodSeconds: 10 },
                livenessProbe: { ...probe, initialDelaySeconds: 10, periodSeconds: 30 },
                securityContext: containerSecurity(COLLECTOR_UID),
                volumeMounts: [{ name: 'config', mountPath: '/etc/otelcol', readOnly: true }],
              },
            ],
            volumes: [{ name: 'config', configMap: { name: OTEL_COLLECTOR_NAME } }],
          },
        },
      },
    });
  }
}
