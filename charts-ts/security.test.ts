/**
 * Every container the platform runs is non-root on a read-only root filesystem, with requests and limits;
 * long-running ones have probes. AsyncActors (the crew) are checked as the controller will apply them,
 * injected sidecar included.
 */
import { describe, expect, test } from 'vitest';
import { PATTERNS } from './options.ts';
import { at, clusterObjects, containersOf, podSpecOf, synthObjects } from '../test/support/charts.ts';
import type { PlatformOptions } from './options.ts';

const variants: [string, PlatformOptions][] = [
  ...PATTERNS.filter((p) => p !== 'multi-cluster').map((pattern): [string, PlatformOptions] => [`${pattern} --trial`, { pattern, trial: true }]),
  ['full, crew expanded', { pattern: 'full', gateway: { tokenSecret: 'asya-tokens' }, crew: { expand: true } }],
  ['standard on sqs', { pattern: 'standard', gateway: { open: true }, transport: 'sqs', platform: { transports: { sqs: { accountId: '123456789012' } } } }],
  ['full --trial with an OpenTelemetry Collector', { pattern: 'full', trial: true, otelCollector: { backend: 'jaeger' } }],
];

describe.each(variants)('%s', (_label, options) => {
  const objects = synthObjects(options);
  const running = clusterObjects(objects);
  const workloads = running.filter((o) => podSpecOf(o));

  test('there are workloads to check, the crew’s injected sidecars among them', () => {
    const names = workloads.flatMap((w) => containersOf(w).map((c) => `${w.metadata.name}/${c.name}`));
    expect(names).toContain('happy-end/asya-sidecar');
    expect(names).toContain('error-end/asya-runtime');
    expect(names).toContain('asya-controller/controller');
  });

  test('every container: non-root, read-only root filesystem, no privilege escalation, no capabilities', () => {
    for (const w of workloads) {
      const pod = podSpecOf(w)!;
      for (const c of containersOf(w)) {
        const where = `${w.kind}/${w.metadata.name} container ${c.name}`;
        const sc = (c.securityContext ?? {}) as Record<string, unknown>;
        const podSc = (pod.securityContext ?? {}) as Record<string, unknown>;
        expect(sc.runAsNonRoot ?? podSc.runAsNonRoot, where).toBe(true);
        const uid = sc.runAsUser ?? podSc.runAsUser;
        expect(typeof uid === 'number' && uid > 0, `${where}: runAsUser ${String(uid)}`).toBe(true);
        expect(sc.readOnlyRootFilesystem, where).toBe(true);
        expect(sc.allowPrivilegeEscalation, where).toBe(false);
        expect(at(sc, 'capabilities', 'drop'), where).toEqual(['ALL']);
        expect(sc.privileged, where).not.toBe(true);
      }
    }
  });

  test('every container has CPU and memory requests and limits', () => {
    for (const w of workloads) {
      for (const c of containersOf(w)) {
        const where = `${w.kind}/${w.metadata.name} container ${c.name}`;
        for (const kind of ['requests', 'limits']) for (const resource of ['cpu', 'memory']) {
          expect(at(c, 'resources', kind, resource), `${where} ${kind}.${resource}`).toBeDefined();
        }
      }
    }
  });

  test('long-running containers have liveness and readiness probes', () => {
    for (const w of workloads.filter((o) => o.kind !== 'Job')) {
      for (const c of containersOf(w)) {
        const where = `${w.kind}/${w.metadata.name} container ${c.name}`;
        expect(c.livenessProbe, where).toBeDefined();
        expect(c.readinessProbe, where).toBeDefined();
      }
    }
  });

  test('the pods meet the restricted Pod Security Standard at pod level too', () => {
    for (const w of workloads) {
      const pod = podSpecOf(w)!;
      expect(at(pod, 'securityContext', 'seccompProfile', 'type'), `${w.kind}/${w.metadata.name}`).toBe('RuntimeDefault');
      expect(pod.hostNetwork, w.metadata.name).not.toBe(true);
      expect(pod.hostPID, w.metadata.name).not.toBe(true);
    }
  });

  test('writable paths are emptyDir or PersistentVolumeClaim volumes, never hostPath', () => {
    for (const w of workloads) {
      for (const v of (podSpecOf(w)!.volumes ?? []) as Record<string, unknown>[]) expect(v.hostPath, `${w.metadata.name} volume ${String(v.name)}`).toBeUndefined();
    }
  });
});
