import { describe, expect, test } from 'vitest';
import { actorQueueOptions, QUEUE_MAX_DELIVERIES } from './queues.ts';
import { DEFAULT_QUEUE_POLICY, policyQueueOptions, queuePolicyEnv, queuePolicyFromEnv, sidecarQueueSettings, type QueuePolicy } from './queue-policy.ts';

const envOf = (p: QueuePolicy) => Object.fromEntries(queuePolicyEnv(p).map((e) => [e.name, e.value]));

describe('queue policy', () => {
  test('the default policy needs no env and declares queues as before', () => {
    expect(queuePolicyEnv(DEFAULT_QUEUE_POLICY)).toEqual([]);
    expect(queuePolicyFromEnv({})).toEqual(DEFAULT_QUEUE_POLICY);
    expect(policyQueueOptions(DEFAULT_QUEUE_POLICY, 60_000)).toEqual(actorQueueOptions(60_000));
  });

  test.each<[string, QueuePolicy]>([
    ['no auto-create', { autoCreate: false, dlq: { enabled: true, maxDeliveries: QUEUE_MAX_DELIVERIES } }],
    ['DLQ off', { autoCreate: true, dlq: { enabled: false, maxDeliveries: QUEUE_MAX_DELIVERIES } }],
    ['another limit and retention', { autoCreate: true, dlq: { enabled: true, maxDeliveries: 3, retentionDays: 7 } }],
  ])('%s survives the trip through the sidecar env', (_, policy) => {
    expect(queuePolicyFromEnv(envOf(policy))).toEqual(policy);
  });

  test('DLQ off declares no DLQ; the sidecar is told so explicitly', () => {
    const off: QueuePolicy = { autoCreate: true, dlq: { enabled: false, maxDeliveries: 5 } };
    expect(policyQueueOptions(off, 1000)).toEqual({ processingTimeoutMs: 2000 });
    expect(envOf(off)).toEqual({ ASYA_QUEUE_MAX_DELIVERIES: '0' });
    const settings = sidecarQueueSettings(off);
    expect('maxDeliveries' in settings && settings.maxDeliveries === undefined).toBe(true);
    expect(policyQueueOptions({ autoCreate: true, dlq: { enabled: true, maxDeliveries: 3, retentionDays: 2 } }, 1000)).toEqual({ processingTimeoutMs: 2000, maxDeliveries: 3, dlqRetentionMs: 172_800_000 });
  });

  test('bad values are refused with the variable named; an auto-create word other than true/false is warned about', () => {
    const warnings: string[] = [];
    expect(queuePolicyFromEnv({ ASYA_QUEUE_AUTO_CREATE: 'no' }, { warn: (m) => warnings.push(m) }).autoCreate).toBe(true);
    expect(warnings).toEqual(['ASYA_QUEUE_AUTO_CREATE="no" is read as true: only the literal false changes it']);
    expect(() => queuePolicyFromEnv({ ASYA_QUEUE_MAX_DELIVERIES: '-1' })).toThrow('Invalid ASYA_QUEUE_MAX_DELIVERIES="-1": expected an integer >= 0');
    expect(() => queuePolicyFromEnv({ ASYA_QUEUE_DLQ_RETENTION_DAYS: '0' })).toThrow('Invalid ASYA_QUEUE_DLQ_RETENTION_DAYS="0": expected an integer >= 1');
  });
});
