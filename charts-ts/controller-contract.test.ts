/**
 * The controller Deployment's env, read back by the controller's own config loader (controller/config.ts):
 * leader election, namespaces, queue ownership, the metrics port and the platform settings file all mean
 * what the chart intends.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { queueDeletionFromEnv } from '../controller/queue-deletion.ts';
import { loadControllerConfig } from '../controller/config.ts';
import { readPlatformConfig } from '../krm-functions/platform-config.ts';
import type { KubeObject } from '../krm-functions/resource-list.ts';
import { CONTROLLER_PORT, PLATFORM_CONFIG_DIR, PLATFORM_CONFIG_FILE } from './controller-contract.ts';
import type { PlatformOptions } from './options.ts';
import { appObjects, platformApps } from './platform.ts';
import { at, only, withCrewStorage } from '../test/support/charts.ts';

const work = mkdtempSync(join(tmpdir(), 'asya-controller-contract-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}

/** The env as the kubelet would give it: literals, downward-API fields, the platform file at a local path. */
function podEnv(objects: KubeObject[], pod: { name: string; namespace: string }): Record<string, string> {
  const deployment = only(objects, 'Deployment', 'asya-controller');
  const container = (at(deployment, 'spec', 'template', 'spec', 'containers') as { env: EnvVar[] }[])[0]!;
  const file = join(work, `${pod.name}-${PLATFORM_CONFIG_FILE}`);
  writeFileSync(file, at(only(objects, 'ConfigMap', 'asya-platform'), 'data', PLATFORM_CONFIG_FILE) as string);
  const env: Record<string, string> = {};
  for (const e of container.env) {
    const field = e.valueFrom?.fieldRef?.fieldPath;
    if (e.value !== undefined) env[e.name] = e.value.replace(`${PLATFORM_CONFIG_DIR}/${PLATFORM_CONFIG_FILE}`, file);
    else if (field === 'metadata.name') env[e.name] = pod.name;
    else if (field === 'metadata.namespace') env[e.name] = pod.namespace;
  }
  return env;
}

const controllerObjects = (options: PlatformOptions, cluster = 0) => appObjects(platformApps(withCrewStorage(options))[cluster]!.app);

describe('the controller reads the chart’s settings as meant', () => {

  test('leader election on its own Lease in its namespace, metrics on the container port, all namespaces', () => {
    const config = loadControllerConfig(podEnv(controllerObjects({ namespace: 'platform' }), { name: 'asya-controller-abc', namespace: 'platform' }));
    expect(config.leaderElection).toMatchObject({ enabled: true, namespace: 'platform', name: 'asya-controller', identity: 'asya-controller-abc' });
    expect(config.metricsAddr.port).toBe(CONTROLLER_PORT);
    expect(config.namespaces).toEqual([]);
    expect(config.manageQueues).toBe(true);
    const platform = readPlatformConfig(config.platform);
    expect(platform.ok).toBe(true);
  });

  test('the Lease the controller takes is the one its Role lets it renew', () => {
    const objects = controllerObjects({});
    const config = loadControllerConfig(podEnv(objects, { name: 'p', namespace: 'asya-system' }));
    const role = only(objects, 'Role', 'asya-controller-leader-election');
    expect(role.metadata.namespace).toBe(config.leaderElection.namespace);
    expect(JSON.stringify(role)).toContain(`"resourceNames":["${config.leaderElection.name}"]`);
  });

  test('watched namespaces and queue ownership across clusters', () => {
    expect(loadControllerConfig(podEnv(controllerObjects({ watchNamespaces: ['a', 'b'] }), { name: 'p', namespace: 'asya-system' })).namespaces).toEqual(['a', 'b']);
    const multi: PlatformOptions = { pattern: 'multi-cluster', clusters: ['one', 'two'], platform: { transports: { rabbitmq: { host: 'mq.example.com' } } } };
    for (const cluster of [0, 1]) {
      const env = podEnv(controllerObjects(multi, cluster), { name: 'p', namespace: 'asya-system' });
      expect(loadControllerConfig(env).manageQueues).toBe(true);
      expect(queueDeletionFromEnv(env)).toBe('never');
    }
    expect(queueDeletionFromEnv(podEnv(controllerObjects({}), { name: 'p', namespace: 'asya-system' }))).toBe('delete');
  });
});
