/**
 * `asya migrate operator-values`: golden files for a values file that uses every key of the original
 * operator chart (testdata/operator-values.yaml); UPDATE_GOLDEN=1 rewrites them after a deliberate change.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, onTestFinished, test } from 'vitest';
import YAML from 'yaml';
import { injectSidecar } from '../../krm-functions/inject-sidecar/transform.ts';
import { updateGolden } from '../../test/support/golden.ts';
import { runMigrate } from '../migrate.ts';

const data = join(import.meta.dirname, 'testdata');
const update = updateGolden();

function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'asya-migrate-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function migrate(...args: string[]) {
  let out = '';
  let err = '';
  const code = await runMigrate(['operator-values', ...args], (t) => void (out += t), (t) => void (err += t));
  return { code, out, err };
}

function golden(name: string, actual: string) {
  const path = join(data, name);
  if (update) writeFileSync(path, actual);
  expect(actual).toBe(readFileSync(path, 'utf8'));
}

describe('asya migrate operator-values', () => {
  test('every key of the original chart is mapped or reported (golden)', async () => {
    const { code, out, err } = await migrate(join(data, 'operator-values.yaml'));
    expect(code).toBe(0);
    golden('operator-values.platform.yaml', out.replace(join(data, 'operator-values.yaml'), 'operator-values.yaml'));
    golden('operator-values.report.txt', err);
    // The result is settings the KRM functions take: an SQS actor comes out with the converted queue policy.
    const actor = { apiVersion: 'asya.sh/v1alpha1', kind: 'AsyncActor', metadata: { name: 'a', namespace: 'ml' }, spec: { transport: 'sqs', workload: { template: { spec: { containers: [{ name: 'asya-runtime', image: 'a:1', env: [{ name: 'ASYA_HANDLER', value: 'a.process' }] }] } } } } };
    const { items, results } = injectSidecar([actor], YAML.parse(out));
    expect(results.filter((r) => r.severity === 'error')).toEqual([]);
    expect(JSON.stringify(items)).toContain('{"name":"ASYA_QUEUE_MAX_DELIVERIES","value":"4"}');
  });

  test('transports at the top level (where the original template read them) and -o', async () => {
    const dir = scratchDir();
    const values = join(dir, 'values.yaml');
    writeFileSync(values, 'transports:\n  rabbitmq: {type: rabbitmq, config: {host: mq}}\ngatewayURL: http://gw\nreplicas: 3\n');
    const { code, out, err } = await migrate(values, '-o', join(dir, 'platform.yaml'));
    expect(code).toBe(0);
    expect(out).toBe('');
    const platform = YAML.parse(readFileSync(join(dir, 'platform.yaml'), 'utf8')) as { spec: unknown };
    // The original created queues and had no DLQ unless one was configured: that behaviour is kept.
    expect(platform.spec).toEqual({ gatewayUrl: 'http://gw', transports: { rabbitmq: { host: 'mq', queues: { dlq: { enabled: false } } } } });
    expect(err).toContain('not mapped: replicas: not a key of the original operator chart');
  });

  test('a file that is not YAML, or no file, is a usage error', async () => {
    const dir = scratchDir();
    writeFileSync(join(dir, 'bad.yaml'), 'a: [1,\n');
    await expect(migrate(join(dir, 'bad.yaml'))).rejects.toMatchObject({ exitCode: 2 });
    await expect(migrate()).rejects.toThrow('give exactly one values file');
  });
});
