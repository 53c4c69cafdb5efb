/**
 * `asya synth --pattern full --otel-collector jaeger|tempo`: a collector that forwards spans to the backend,
 * and every component pointed at it through the platform setting otlpEndpoint. Without it, no component
 * gets any OTEL variable (tracing stays off).
 */
import { describe, expect, test } from 'vitest';
import YAML from 'yaml';
import { parseSynthArgs } from '../cli/synth.ts';
import { readPlatformConfig } from '../krm-functions/platform-config.ts';
import { CREW_ROLES } from '../protocol/crew.ts';
import { at, clusterObjects, containersOf, only, synthObjects } from '../test/support/charts.ts';
import { validateKubeObject } from '../test/support/kube-schemas.ts';
import { PlatformOptionsError, resolveOptions } from './options.ts';
import { DEFAULT_BACKEND_ENDPOINTS, OTEL_COLLECTOR_NAME } from './otel-collector-chart.ts';

const COLLECTOR_URL = `http://${OTEL_COLLECTOR_NAME}.asya-system.svc.cluster.local:4318`;
const ENDPOINT_VAR = 'OTEL_EXPORTER_OTLP_ENDPOINT';

/** Every container of what runs in the cluster (injected sidecars included), with its OTLP endpoint variable. */
function endpoints(objects: ReturnType<typeof synthObjects>) {
  return clusterObjects(objects).flatMap((o) =>
    containersOf(o).map((c) => ({ where: `${o.kind}/${o.metadata.name}/${c.name}`, value: ((c.env ?? []) as { name: string; value?: string }[]).find((e) => e.name === ENDPOINT_VAR)?.value })),
  );
}

describe('--otel-collector', () => {
  test('jaeger: a collector forwarding OTLP to Jaeger; the gateway, the crew and every sidecar export to it', async () => {
    const objects = synthObjects({ pattern: 'full', gateway: { open: true }, otelCollector: { backend: 'jaeger' } });
    const config = YAML.parse(at(only(objects, 'ConfigMap', OTEL_COLLECTOR_NAME), 'data', 'config.yaml') as string) as Record<string, Record<string, unknown>>;
    expect(config.exporters).toEqual({ 'otlp/jaeger': { endpoint: DEFAULT_BACKEND_ENDPOINTS.jaeger, tls: { insecure: true } } });
    expect(at(config, 'service', 'pipelines', 'traces')).toEqual({ receivers: ['otlp'], processors: ['memory_limiter', 'batch'], exporters: ['otlp/jaeger'] });
    expect(at(config, 'receivers', 'otlp', 'protocols', 'http', 'endpoint')).toBe('0.0.0.0:4318');
    const service = only(objects, 'Service', OTEL_COLLECTOR_NAME);
    expect(at(service, 'spec', 'ports')).toEqual([
      { name: 'otlp-http', port: 4318, targetPort: 'otlp-http' },
      { name: 'otlp-grpc', port: 4317, targetPort: 'otlp-grpc' },
    ]);
    for (const kind of ['ConfigMap', 'Service', 'Deployment']) await validateKubeObject(only(objects, kind, OTEL_COLLECTOR_NAME));

    const platform = readPlatformConfig(YAML.parse(at(only(objects, 'ConfigMap', 'asya-platform'), 'data', 'platform.yaml') as string));
    expect(platform.ok && platform.config.otlpEndpoint).toBe(COLLECTOR_URL);
    const exporting = endpoints(objects).filter((e) => e.value !== undefined);
    // The gateway, every crew sidecar and every crew runtime; the controller and the collector do not trace.
    expect(exporting.map((e) => e.where).sort()).toEqual(
      ['Deployment/asya-gateway/gateway', ...CREW_ROLES.flatMap((role) => [`Deployment/${role}/asya-runtime`, `Deployment/${role}/asya-sidecar`])].sort(),
    );
    expect(new Set(exporting.map((e) => e.value))).toEqual(new Set([COLLECTOR_URL]));
  });

  test('tempo at an address of your own; an explicit otlpEndpoint in the platform file wins', () => {
    const objects = synthObjects({ pattern: 'full', gateway: { open: true }, otelCollector: { backend: 'tempo', endpoint: 'tempo.tracing:4317' } });
    const config = YAML.parse(at(only(objects, 'ConfigMap', OTEL_COLLECTOR_NAME), 'data', 'config.yaml') as string) as Record<string, unknown>;
    expect(at(config, 'exporters')).toEqual({ 'otlp/tempo': { endpoint: 'tempo.tracing:4317', tls: { insecure: true } } });
    const own = synthObjects({ pattern: 'full', gateway: { open: true }, otelCollector: { backend: 'tempo' }, platform: { otlpEndpoint: 'http://agent.local:4318' } });
    expect(new Set(endpoints(own).flatMap((e) => (e.value ? [e.value] : [])))).toEqual(new Set(['http://agent.local:4318']));
  });

  test('with NetworkPolicies, actor pods may reach the collector on 4318', () => {
    const settings = { networkPolicies: { enabled: true, broker: [{ cidr: '10.0.0.5/32' }], apiServer: ['10.0.0.1/32'] } };
    const rules = (objects: ReturnType<typeof synthObjects>) => JSON.stringify(at(only(objects, 'NetworkPolicy', 'asya-actors'), 'spec', 'egress'));
    const collectorRule = `{"ports":[{"port":4318,"protocol":"TCP"}],"to":[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"asya-system"}},"podSelector":{"matchLabels":{"app.kubernetes.io/name":"${OTEL_COLLECTOR_NAME}","app.kubernetes.io/part-of":"asya"}}}]}`;
    expect(rules(synthObjects({ pattern: 'full', gateway: { open: true }, otelCollector: { backend: 'jaeger' }, platform: settings }))).toContain(collectorRule);
    expect(rules(synthObjects({ pattern: 'full', gateway: { open: true }, platform: settings }))).not.toContain('4318');
  });

  test('without it nothing is traced: no collector, no OTEL variable anywhere', () => {
    const objects = synthObjects({ pattern: 'full', gateway: { open: true } });
    expect(objects.filter((o) => o.metadata.name === OTEL_COLLECTOR_NAME)).toEqual([]);
    expect(endpoints(objects).filter((e) => e.value !== undefined)).toEqual([]);
    expect(JSON.stringify(clusterObjects(objects))).not.toContain('OTEL_');
  });

  test('a platform otlpEndpoint alone traces every component, whatever the pattern', () => {
    const objects = synthObjects({ pattern: 'standard', gateway: { open: true }, platform: { otlpEndpoint: 'http://otel.example:4318' } });
    expect(endpoints(objects).filter((e) => e.value === 'http://otel.example:4318')).toHaveLength(1 + 2 * CREW_ROLES.length);
  });

  test('refused: another pattern, an unknown backend, an address that is not host:port, a bad otlpEndpoint', () => {
    expect(() => resolveOptions({ pattern: 'standard', gateway: { open: true }, otelCollector: { backend: 'jaeger' } })).toThrow(PlatformOptionsError);
    expect(() => resolveOptions({ pattern: 'full', gateway: { open: true }, otelCollector: { backend: 'jaeger', endpoint: 'http://jaeger:4317' } })).toThrow(
      '--otel-backend expects host:port (the backend\'s OTLP/gRPC port), got "http://jaeger:4317"',
    );
    expect(() => parseSynthArgs(['--pattern', 'full', '--otel-collector', 'zipkin'])).toThrow('--otel-collector must be one of jaeger, tempo; got "zipkin"');
    expect(() => parseSynthArgs(['--pattern', 'full', '--otel-backend', 'tempo:4317'])).toThrow('--otel-backend goes with --otel-collector jaeger|tempo');
    const parsed = parseSynthArgs(['--pattern', 'full', '--otel-collector', 'tempo', '--otel-backend', 'tempo.tracing:4317']);
    expect(parsed !== 'help' && parsed.options.otelCollector).toEqual({ backend: 'tempo', endpoint: 'tempo.tracing:4317' });
    const bad = readPlatformConfig({ apiVersion: 'fn.asya.sh/v1alpha1', kind: 'AsyaPlatform', spec: { otlpEndpoint: 'otel:4318' } });
    expect(bad.ok ? [] : bad.results.map((r) => r.message)).toEqual(['functionConfig spec.otlpEndpoint: must be an http(s) URL such as http://otel-collector:4318']);
  });
});
