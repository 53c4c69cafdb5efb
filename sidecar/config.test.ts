import { describe, expect, test } from 'vitest';
import { formatDuration, parseDuration, queuePolicyFromEnv } from '../protocol/index.ts';
import { ConfigError, loadSidecarConfig, queuePolicyOfConfig } from './config.ts';

describe('durations', () => {
  test.each([
    ['300', 300_000],
    ['300s', 300_000],
    ['5m', 300_000],
    ['1m30s', 90_000],
    ['250ms', 250],
    ['1.5s', 1500],
    ['1h', 3_600_000],
  ])('%s', (raw, ms) => expect(parseDuration(raw)).toBe(ms));

  test.each(['', 'abc', '5 minutes', '-1s', '5x'])('%j is refused with a hint', (raw) => {
    expect(() => parseDuration(raw, 'ASYA_RUNTIME_TIMEOUT')).toThrow(/expected seconds \(300\) or a duration/);
  });

  test('formats like Go', () => {
    expect([300_000, 3000, 1500, 90_000, 3_600_000, 20].map(formatDuration)).toEqual(['5m0s', '3s', '1.5s', '1m30s', '1h0m0s', '20ms']);
  });
});

describe('sidecar config', () => {
  test('defaults follow the original', () => {
    const c = loadSidecarConfig({ ASYA_ACTOR_NAME: 'prep' });
    expect(c).toMatchObject({
      happyEnd: 'happy-end',
      errorEnd: 'error-end',
      isEndActor: false,
      socketPath: '/var/run/asya/asya-runtime.sock',
      runtimeTimeoutMs: 300_000,
      concurrency: 1,
      metricsEnabled: true,
      metricsAddr: { port: 8080 },
      metricsNamespace: 'asya_actor',
    });
  });

  test('end actors are recognised by name', () => {
    expect(loadSidecarConfig({ ASYA_ACTOR_NAME: 'happy-end' }).isEndActor).toBe(true);
    expect(loadSidecarConfig({ ASYA_ACTOR_NAME: 'x', ASYA_IS_END_ACTOR: 'yes' }).isEndActor).toBe(true);
  });

  test.each([
    [{}, /ASYA_ACTOR_NAME is required/],
    [{ ASYA_ACTOR_NAME: 'Bad_Name' }, /not a valid actor name/],
    [{ ASYA_ACTOR_NAME: 'a', ASYA_CONCURRENCY: '0' }, /ASYA_CONCURRENCY="0": expected an integer >= 1/],
    [{ ASYA_ACTOR_NAME: 'a', ASYA_RUNTIME_TIMEOUT: 'soon' }, /ASYA_RUNTIME_TIMEOUT/],
    [{ ASYA_ACTOR_NAME: 'a', ASYA_IS_END_ACTOR: 'maybe' }, /expected true\/false/],
    [{ ASYA_ACTOR_NAME: 'a', ASYA_METRICS_ADDR: '8080' }, /expected \[host\]:port/],
    [{ ASYA_ACTOR_NAME: 'a', ASYA_CUSTOM_METRICS: '{' }, /not JSON/],
  ])('%j is a clear ConfigError', (env, message) => {
    expect(() => loadSidecarConfig(env)).toThrow(ConfigError);
    expect(() => loadSidecarConfig(env)).toThrow(message);
  });
});

describe('the queue policy in the sidecar settings', () => {
  test.each([
    {},
    { ASYA_QUEUE_AUTO_CREATE: 'false', ASYA_QUEUE_MAX_DELIVERIES: '4', ASYA_QUEUE_DLQ_RETENTION_DAYS: '14' },
    { ASYA_QUEUE_MAX_DELIVERIES: '0' },
  ])('%j: the same policy as read on its own', (queueEnv) => {
    const env = { ASYA_ACTOR_NAME: 'a', ...queueEnv };
    expect(queuePolicyOfConfig(loadSidecarConfig(env))).toEqual(queuePolicyFromEnv(env));
  });

  test('a bad value stops the sidecar as a ConfigError naming the variable', () => {
    expect(() => loadSidecarConfig({ ASYA_ACTOR_NAME: 'a', ASYA_QUEUE_MAX_DELIVERIES: '-1' })).toThrow(ConfigError);
    expect(() => loadSidecarConfig({ ASYA_ACTOR_NAME: 'a', ASYA_QUEUE_MAX_DELIVERIES: '-1' })).toThrow('ASYA_QUEUE_MAX_DELIVERIES');
  });
});
