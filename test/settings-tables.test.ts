/**
 * The components' settings tables: each declaration is self-consistent, and the original's old names are
 * read with a warning or refused, never ignored in silence.
 */
import { describe, expect, test } from 'vitest';
import { DOCUMENTED_SETTINGS } from '../cli/settings-docs.ts';
import { ControllerConfigError, loadControllerConfig } from '../controller/config.ts';
import { crewConfigFromEnv } from '../crew/config.ts';
import { CREW_SETTINGS } from '../crew/settings.ts';
import { GATEWAY_SETTINGS } from '../gateway/settings.ts';
import { readSettings } from '../settings/index.ts';
import { loadSidecarConfig } from '../sidecar/config.ts';
import { parseAsyncActor } from '../api/index.ts';
import { sidecarEnvProblems, sidecarSettingsEnv } from '../krm-functions/sidecar-settings.ts';
import { errorText } from '../protocol/errors.ts';

describe.each(DOCUMENTED_SETTINGS.map((table) => [table.component, table] as const))('the %s table', (_, table) => {
  test.each(Object.entries(table.settings))('%s: its default reads back as itself, and it has a doc line', (_, setting) => {
    expect(setting.options.doc.trim()).not.toBe('');
    if (setting.options.default === undefined) return;
    expect(setting.kind.parse(setting.kind.format(setting.options.default))).toEqual(setting.options.default);
  });
});

describe("the original's names", () => {
  test('ASYA_STEP_HAPPY_END (the original docs) is read as ASYA_ACTOR_HAPPY_END, with a warning', () => {
    const warnings: string[] = [];
    const config = loadSidecarConfig({ ASYA_ACTOR_NAME: 'done', ASYA_STEP_HAPPY_END: 'done' }, { warn: (m) => warnings.push(m) });
    expect(config).toMatchObject({ happyEnd: 'done', isEndActor: true });
    expect(warnings).toEqual(['ASYA_STEP_HAPPY_END is deprecated: read as ASYA_ACTOR_HAPPY_END; rename it']);
  });

  test("ASYA_S3_REGION (the original crew chart's) is read as AWS_REGION, with a warning", () => {
    const { values, warnings } = readSettings(CREW_SETTINGS, { ASYA_S3_REGION: 'eu-west-1' });
    expect(values.awsRegion).toBe('eu-west-1');
    expect(warnings).toEqual(['ASYA_S3_REGION is deprecated: read as AWS_REGION; rename it']);
    expect(crewConfigFromEnv({ ASYA_S3_BUCKET: 'b', ASYA_S3_REGION: 'eu-west-1' }).storage.uri('k')).toBe('s3://b/k');
  });

  test('ASYA_DB_MIN_CONNS is warned about: the gateway has no such pool setting', () => {
    expect(readSettings(GATEWAY_SETTINGS, { ASYA_DB_MIN_CONNS: '2' }).warnings).toEqual(['ASYA_DB_MIN_CONNS is not read any more: the pool opens connections on demand']);
  });

  test("the operator's ASYA_TRANSPORT_CONFIG stops the controller, which would otherwise run without those transports", () => {
    expect(() => loadControllerConfig({ ASYA_TRANSPORT_CONFIG: '{"transports":{}}' })).toThrow(ControllerConfigError);
    expect(() => loadControllerConfig({ ASYA_TRANSPORT_CONFIG: '{"transports":{}}' })).toThrow('ASYA_TRANSPORT_CONFIG is not read any more: put the transports in the platform file');
  });

  test('a one-word switch set to another word is read the original way, with a warning', () => {
    const warnings: string[] = [];
    expect(loadSidecarConfig({ ASYA_ACTOR_NAME: 'a', ASYA_QUEUE_AUTO_CREATE: 'no' }, { warn: (m) => warnings.push(m) }).queueAutoCreate).toBe(true);
    expect(warnings).toEqual(['ASYA_QUEUE_AUTO_CREATE="no" is read as true: only the literal false changes it']);
  });
});

describe("an AsyncActor's spec.sidecar.env", () => {
  const actor = (env: Array<{ name: string; value?: string; valueFrom?: Record<string, unknown> }>) =>
    parseAsyncActor({
      apiVersion: 'asya.sh/v1alpha1',
      kind: 'AsyncActor',
      metadata: { name: 'a' },
      spec: { transport: 'rabbitmq', sidecar: { env }, workload: { template: { spec: { containers: [{ name: 'asya-runtime', image: 'i', env: [{ name: 'ASYA_HANDLER', value: 'h.f' }] }] } } } },
    });

  test.each([
    ['ASYA_RUNTIME_TIMEOUT', 'abc'],
    ['ASYA_CONCURRENCY', '-1'],
    ['ASYA_METRICS_ADDR', '8080'],
    ['ASYA_CUSTOM_METRICS', '[{"name":"x"}]'],
    ['ASYA_ACTOR_NAME', 'Not_A_Name'],
  ])('%s=%s is refused by inject-sidecar with the message the sidecar gives at startup', (name, value) => {
    const given = actor([{ name, value }]);
    const startup = (() => {
      try {
        loadSidecarConfig(sidecarSettingsEnv(given).env, { warn: () => {} });
      } catch (err) {
        return errorText(err);
      }
      throw new Error('the sidecar started');
    })();
    expect(sidecarEnvProblems(given)).toEqual([{ severity: 'error', message: startup, path: 'spec.sidecar.env[0].value' }]);
  });

  test('valid values, values from a Secret and an overridden entry are not blamed', () => {
    expect(sidecarEnvProblems(actor([{ name: 'ASYA_CONCURRENCY', value: 'x' }, { name: 'ASYA_CONCURRENCY', value: '8' }, { name: 'ASYA_RUNTIME_TIMEOUT', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }]))).toEqual([]);
  });

  test("the sidecar's warnings come along, at the entry", () => {
    expect(sidecarEnvProblems(actor([{ name: 'ASYA_SOCKET_PATH', value: '/x' }]))).toEqual([
      { severity: 'warning', message: 'ASYA_SOCKET_PATH is not read any more: the socket is always `asya-runtime.sock` in `ASYA_SOCKET_DIR`', path: 'spec.sidecar.env[0].value' },
    ]);
  });
});
