/**
 * Every synthesized object validates against the Kubernetes and KEDA schemas (test/support/kube-schemas.ts),
 * AsyncActors against api/'s schema. kubernetes-models has no Prometheus-operator schema, so the
 * ServiceMonitor and PodMonitor shapes are asserted field by field instead.
 */
import { describe, expect, test } from 'vitest';
import { validateAsyncActor } from '../api/index.ts';
import { validateKubeObject } from '../test/support/kube-schemas.ts';
import type { KubeObject } from '../krm-functions/resource-list.ts';
import { MONITORING_API_VERSION } from './monitoring-chart.ts';
import type { PlatformOptions } from './options.ts';
import { appObjects, platformApps } from './platform.ts';
import { at, clusterObjects, withCrewStorage } from '../test/support/charts.ts';

const variants: [string, PlatformOptions][] = [
  ['minimal', { pattern: 'minimal' }],
  ['minimal --trial', { pattern: 'minimal', trial: true }],
  ['standard --trial with tools and tokens', { pattern: 'standard', trial: true, gateway: { tools: 'tools: []\n', tokenSecret: 'asya-tokens' } }],
  ['full --trial, crew expanded, S3 crew storage', { pattern: 'full', trial: true, crew: { expand: true, s3: { bucket: 'results', endpoint: 'http://minio:9000', credentialsSecret: 'minio' } } }],
  ['full --trial with an OpenTelemetry Collector for Tempo', { pattern: 'full', trial: true, otelCollector: { backend: 'tempo' } }],
  ['full on sqs, watching two namespaces', { pattern: 'full', gateway: { tokenSecret: 'asya-tokens' }, transport: 'sqs', watchNamespaces: ['a', 'b'], platform: { transports: { sqs: { accountId: '123456789012' } } } }],
  [
    'multi-cluster',
    { pattern: 'multi-cluster', clusters: ['east', 'west'], gateway: { url: 'https://asya.example.com', open: true }, platform: { transports: { rabbitmq: { host: 'mq.example.com' } } } },
  ],
];

function assertMonitorShape(o: KubeObject): void {
  expect(o.apiVersion).toBe(MONITORING_API_VERSION);
  expect(o.metadata.namespace).toBeTruthy();
  const spec = o.spec as Record<string, unknown>;
  expect(Object.keys(spec).every((k) => ['selector', 'namespaceSelector', 'endpoints', 'podMetricsEndpoints', 'podTargetLabels'].includes(k)), JSON.stringify(spec)).toBe(true);
  const selector = spec.selector as Record<string, unknown>;
  expect(selector.matchLabels ?? selector.matchExpressions).toBeDefined();
  const endpoints = (o.kind === 'ServiceMonitor' ? spec.endpoints : spec.podMetricsEndpoints) as Record<string, unknown>[];
  expect(endpoints.length).toBeGreaterThan(0);
  for (const e of endpoints) {
    expect(typeof e.port).toBe('string'); // a named port: numbers are not allowed by the CRD here
    expect(e.path).toBe('/metrics');
    expect(e.interval).toMatch(/^\d+s$/);
    expect(Object.keys(e).every((k) => ['port', 'path', 'interval'].includes(k))).toBe(true);
  }
  const ns = spec.namespaceSelector as Record<string, unknown>;
  expect(ns.any === true || Array.isArray(ns.matchNames)).toBe(true);
}

describe.each(variants)('%s', (_label, options) => {
  const objects = platformApps(withCrewStorage(options)).flatMap((a) => appObjects(a.app));

  test('every object validates against its schema', async () => {
    let checked = 0;
    for (const o of objects) {
      if (o.kind === 'AsyncActor') {
        const result = validateAsyncActor(o);
        expect(result.ok, JSON.stringify(result)).toBe(true);
      } else if (o.apiVersion === MONITORING_API_VERSION) {
        assertMonitorShape(o);
      } else {
        await validateKubeObject(o);
      }
      checked++;
    }
    expect(checked).toBe(objects.length);
  });

  test('what the controller will apply for the crew validates too (or the expanded crew itself)', async () => {
    const rendered = clusterObjects(objects).filter((o) => !objects.includes(o));
    expect(rendered.length > 0).toBe(!options.crew?.expand);
    expect([...rendered, ...objects].map((o) => o.kind)).toContain('ScaledObject');
    for (const o of rendered) await validateKubeObject(o);
  });

  test('names are explicit: no cdk8s hashes, no cdk8s labels', () => {
    for (const o of objects) {
      expect(o.metadata.name, `${o.kind}`).not.toMatch(/-c8[0-9a-f]{6}$/);
      expect(JSON.stringify(o)).not.toContain('cdk8s.io/');
    }
  });

  test('no Secret carries a value except the trial ones', () => {
    for (const o of objects.filter((x) => x.kind === 'Secret')) expect(o.metadata.annotations?.['asya.sh/trial-only'], o.metadata.name).toBeDefined();
    expect(objects.filter((x) => x.kind === 'Secret').length > 0).toBe(options.trial === true);
  });
});

test('a ServiceMonitor port is a port the Service names', () => {
  const objects = platformApps(withCrewStorage({ pattern: 'full', gateway: { open: true } })).flatMap((a) => appObjects(a.app));
  for (const monitor of objects.filter((o) => o.kind === 'ServiceMonitor')) {
    const labels = at(monitor, 'spec', 'selector', 'matchLabels') as Record<string, string>;
    const services = objects.filter((o) => o.kind === 'Service' && Object.entries(labels).every(([k, v]) => o.metadata.labels?.[k] === v));
    expect(services.length, monitor.metadata.name).toBe(1);
    const ports = (at(services[0], 'spec', 'ports') as { name: string }[]).map((p) => p.name);
    expect(ports).toContain(at(monitor, 'spec', 'endpoints', '0', 'port'));
  }
});
