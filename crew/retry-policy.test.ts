import { describe, expect, test } from 'vitest';
import { ATTEMPTS_HEADER, readAttempts, RETRY_POLICY_HEADER } from '../protocol/index.ts';
import { backoffMs, decideRetry, DEFAULT_RETRY_POLICY, JITTER, parseRetryPolicy, retryHeaders, type RetryPolicy } from './retry-policy.ts';

const noJitter: RetryPolicy = { ...DEFAULT_RETRY_POLICY, jitter: false };
const base = { policy: DEFAULT_RETRY_POLICY, hasOriginalPayload: true, now: Date.parse('2030-01-01T00:00:00Z'), random: () => 0.5 };

describe('backoff', () => {
  test('grows by the multiplier from the initial delay', () => {
    expect([1, 2, 3, 4, 5].map((k) => backoffMs(k, noJitter))).toEqual([1000, 2000, 4000, 8000, 16000]);
    expect([1, 2, 3].map((k) => backoffMs(k, { ...noJitter, initialDelaySeconds: 0.2, multiplier: 3 }))).toEqual([200, 600, 1800]);
  });

  test('is capped at maxDelaySeconds', () => {
    expect(backoffMs(20, noJitter)).toBe(300_000);
    expect(backoffMs(3, { ...noJitter, maxDelaySeconds: 2.5 })).toBe(2500);
  });

  test('jitter stays within ±20 % and is never negative', () => {
    for (const k of [1, 2, 5, 30]) {
      const plain = backoffMs(k, noJitter);
      expect(backoffMs(k, DEFAULT_RETRY_POLICY, () => 0)).toBe(Math.round(plain * (1 - JITTER)));
      expect(backoffMs(k, DEFAULT_RETRY_POLICY, () => 0.999999)).toBeLessThanOrEqual(Math.round(plain * (1 + JITTER)));
      for (let i = 0; i < 200; i++) {
        const d = backoffMs(k, DEFAULT_RETRY_POLICY);
        expect(d).toBeGreaterThanOrEqual(Math.floor(plain * (1 - JITTER)));
        expect(d).toBeLessThanOrEqual(Math.ceil(plain * (1 + JITTER)));
      }
    }
    expect(backoffMs(1, { ...DEFAULT_RETRY_POLICY, initialDelaySeconds: 0 })).toBe(0);
  });
});

describe('decideRetry', () => {
  test('retries until maxAttempts, then gives up', () => {
    expect(decideRetry({ ...base, attempt: 1, policy: noJitter })).toEqual({ retry: true, attempt: 1, delayMs: 1000 });
    expect(decideRetry({ ...base, attempt: 2, policy: noJitter })).toEqual({ retry: true, attempt: 2, delayMs: 2000 });
    expect(decideRetry({ ...base, attempt: 3 })).toMatchObject({ retry: false, reason: 'gave up after 3 of 3 attempts' });
    expect(decideRetry({ ...base, attempt: 1, policy: { ...noJitter, maxAttempts: 1 } })).toMatchObject({ retry: false });
  });

  test.each(['msg_parsing_error', 'parse_error', 'validation_error', 'route_mismatch'])('%s is not retried by default', (code) => {
    expect(decideRetry({ ...base, attempt: 1, code })).toMatchObject({ retry: false, reason: `${code} is not retryable` });
  });

  test('non-retryable by details.type as well as by code', () => {
    const policy = { ...DEFAULT_RETRY_POLICY, nonRetryableErrors: ['ValueError'] };
    expect(decideRetry({ ...base, policy, attempt: 1, code: 'processing_error', detailsType: 'ValueError' })).toMatchObject({ retry: false });
    expect(decideRetry({ ...base, policy, attempt: 1, code: 'processing_error', detailsType: 'TimeoutError' })).toMatchObject({ retry: true });
    expect(decideRetry({ ...base, attempt: 1, code: 'processing_error', detailsType: 'ValueError' })).toMatchObject({ retry: true });
  });

  test('nothing to retry without the original payload, or when the deadline passes first', () => {
    expect(decideRetry({ ...base, attempt: 1, hasOriginalPayload: false })).toMatchObject({ retry: false, reason: expect.stringMatching(/no original payload/) });
    const soon = new Date(base.now + 500).toISOString();
    const later = new Date(base.now + 60_000).toISOString();
    expect(decideRetry({ ...base, policy: noJitter, attempt: 1, deadline: soon })).toMatchObject({ retry: false, reason: expect.stringMatching(/deadline/) });
    expect(decideRetry({ ...base, policy: noJitter, attempt: 1, deadline: later })).toMatchObject({ retry: true });
  });
});

describe('policy and attempts headers', () => {
  test('a policy arrives as an object or as JSON text, defaults filled in; nonsense is reported', () => {
    expect(parseRetryPolicy({ maxAttempts: 5 }).policy).toEqual({ ...DEFAULT_RETRY_POLICY, maxAttempts: 5 });
    expect(parseRetryPolicy('{"initialDelaySeconds":0.2,"jitter":false}').policy).toMatchObject({ initialDelaySeconds: 0.2, jitter: false, maxAttempts: 3 });
    expect(parseRetryPolicy(undefined)).toEqual({});
    expect(parseRetryPolicy('{nope').problem).toMatch(/not JSON/);
    expect(parseRetryPolicy({ maxAttempts: 0 }).problem).toMatch(/maxAttempts/);
  });

  test('attempts are per actor, so a later actor does not inherit an earlier one', () => {
    const headers = { [ATTEMPTS_HEADER]: { prep: 2, bad: 'x', neg: -1 }, traceparent: 't' };
    expect(readAttempts(headers)).toEqual({ prep: 2 });
    expect(readAttempts({ [ATTEMPTS_HEADER]: '{"infer":1}' })).toEqual({ infer: 1 });
    expect(readAttempts(undefined)).toEqual({});
    const next = retryHeaders({ ...headers, [RETRY_POLICY_HEADER]: { maxAttempts: 3 } }, { prep: 2, infer: 1 });
    expect(next).toEqual({ traceparent: 't', [ATTEMPTS_HEADER]: { prep: 2, infer: 1 } });
  });
});
