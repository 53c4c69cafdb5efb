/** The two crew handlers called directly, with a real directory and a real HTTP server as the gateway. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { ATTEMPTS_HEADER, createLogger, GATEWAY_UNAVAILABLE, REPLAYS_HEADER, RETRY_POLICY_HEADER } from '../protocol/index.ts';
import { startFakeGateway, type FakeGateway } from '../test/support/fake-gateway.ts';
import { assertEndHandlerEnv, type CrewConfig } from './config.ts';
import { createErrorEnd } from './error-end.ts';
import { gatewayClient } from '../protocol/gateway-client.ts';
import { createHappyEnd } from './happy-end.ts';
import { DEFAULT_RETRY_POLICY } from './retry-policy.ts';
import { FileStorage } from './storage.ts';

let gateway: FakeGateway;
let dir: string;
let n = 0;
const log = createLogger('ERROR', 'test.crew');
const at = new Date('2030-05-06T07:08:09.010Z');

function config(withGateway = true): CrewConfig {
  return {
    storage: new FileStorage(join(dir, String(++n))),
    resultsPrefix: 'happy-asya/',
    errorsPrefix: 'error-asya/',
    ...(withGateway ? { gateway: gatewayClient({ url: gateway.url, token: 'tok', log, attempts: 2, retryDelayMs: 1 }) } : {}),
    happyEnd: 'happy-end',
    errorEnd: 'error-end',
    dlqQueue: 'asya-dlq',
    defaultPolicy: { ...DEFAULT_RETRY_POLICY, jitter: false },
    log,
  };
}
const sent = (id: string) => gateway.requests.filter((r) => r.path.startsWith(`/envelopes/${id}/`));

beforeAll(async () => {
  gateway = await startFakeGateway();
  dir = mkdtempSync(join(tmpdir(), 'asya-crew-'));
});
afterEach(() => {
  gateway.status = 200;
});
afterAll(async () => {
  await gateway.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('happy-end', () => {
  const done = (id: string) => ({ id, route: { actors: ['prep', 'infer'], current: 2 }, headers: { traceparent: 't' }, payload: { answer: 42 } });

  test('stores the envelope and reports succeeded once, however often it is delivered', async () => {
    const c = config();
    const handle = createHappyEnd(c, () => at);
    const first = await handle(done('h1'));
    const uri = c.storage.uri('happy-asya/2030-05-06T07:08:09.010000Z/infer/h1.json');
    expect(first).toEqual({ payload: { final_reported: true, storage_uri: uri } });
    expect(await handle(done('h1'))).toEqual(first);
    expect(await c.storage.list('happy-asya/2')).toEqual(['happy-asya/2030-05-06T07:08:09.010000Z/infer/h1.json']);
    expect(JSON.parse((await c.storage.get('happy-asya/2030-05-06T07:08:09.010000Z/infer/h1.json'))!)).toEqual(done('h1'));
    expect(sent('h1')).toHaveLength(1);
    expect(sent('h1')[0]).toMatchObject({
      path: '/envelopes/h1/final',
      authorization: 'Bearer tok',
      body: { id: 'h1', status: 'succeeded', timestamp: at.toISOString(), progress: 1, result: { answer: 42 }, metadata: { storage_uri: uri } },
    });
  });

  test('an unavailable gateway (503) throws GatewayUnavailable; the redelivery reports without storing again', async () => {
    const c = config();
    const handle = createHappyEnd(c, () => at);
    gateway.status = 503;
    await expect(handle(done('h2'))).rejects.toMatchObject({ name: GATEWAY_UNAVAILABLE });
    gateway.status = 200;
    await handle(done('h2'));
    expect(sent('h2').map((r) => r.body.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(await c.storage.list('happy-asya/2')).toHaveLength(1);
    await handle(done('h2'));
    expect(sent('h2')).toHaveLength(3);
  });

  test('an id the gateway does not know is stored and not retried; a bad body fails for good', async () => {
    const handle = createHappyEnd(config());
    gateway.status = 404;
    await expect(handle(done('h3'))).resolves.toMatchObject({ payload: { final_reported: true } });
    gateway.status = 400;
    await expect(handle(done('h4'))).rejects.toThrow(/answered 400/);
    expect(sent('h4')).toHaveLength(1);
  });

  test('two copies of one envelope handled at once (concurrency > 1): stored once, reported once', async () => {
    const c = config();
    const handle = createHappyEnd(c, () => at);
    const answers = await Promise.all([handle(done('h-twice')), handle(done('h-twice')), handle(done('h-twice'))]);
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(sent('h-twice')).toHaveLength(1);
    expect((await c.storage.list('happy-asya/2')).filter((k) => k.endsWith('/h-twice.json'))).toHaveLength(1);
  });

  test('"not now" answers (5xx, 408, 429) are GatewayUnavailable; any other 4xx (a bad token) is a rejection for good', async () => {
    const handle = createHappyEnd(config());
    for (const [i, status] of [500, 502, 408, 429].entries()) {
      gateway.status = status;
      await expect(handle(done(`h-away-${i}`))).rejects.toMatchObject({ name: GATEWAY_UNAVAILABLE });
    }
    gateway.status = 403;
    await expect(handle(done('h-forbidden'))).rejects.toMatchObject({ name: 'FinalReportRejected', message: expect.stringMatching(/answered 403/) });
    expect(sent('h-forbidden')).toHaveLength(1);
  });

  test('without a gateway it only stores, and leaves the report to the sidecar', async () => {
    const c = config(false);
    const out = await createHappyEnd(c)(done('h5'));
    expect(out).toEqual({ payload: { storage_uri: expect.stringMatching(/^file:\/\/.*\/h5\.json$/) } });
    expect(sent('h5')).toHaveLength(0);
  });

  test('the original checks: an envelope must be an object with an id; the runtime must give it raw envelopes', async () => {
    const handle = createHappyEnd(config(false));
    await expect(handle({ route: { actors: [], current: 0 }, payload: 1 })).rejects.toThrow('Envelope missing required field: id');
    await expect(handle([1])).rejects.toThrow(/must be a dict/);
    expect(() => assertEndHandlerEnv({})).toThrow('End handlers must run in envelope mode');
    expect(() => assertEndHandlerEnv({ ASYA_HANDLER_MODE: 'envelope' })).toThrow('End handlers must run with validation disabled');
    expect(() => assertEndHandlerEnv({ ASYA_HANDLER_MODE: 'envelope', ASYA_ENABLE_VALIDATION: 'false' })).not.toThrow();
  });
});

describe('error-end', () => {
  test('two copies of one dead-lettered envelope handled at once: one record stored, one failed final', async () => {
    const c = config();
    const handle = createErrorEnd(c, { clock: () => at });
    const bad = { id: 'e-twice', route: { actors: ['prep'], current: 0 }, payload: { error: 'processing_error', failed_actor: 'prep', original_payload: 1 }, headers: { [ATTEMPTS_HEADER]: { prep: 99 } } };
    await Promise.all([handle(bad), handle(bad)]);
    expect(sent('e-twice').filter((r) => r.path.endsWith('/final'))).toHaveLength(1);
    expect((await c.storage.list('error-asya/2')).filter((k) => k.endsWith('/e-twice.json'))).toHaveLength(1);
  });

  const failed = (id: string, extra: { headers?: Record<string, unknown>; payload?: Record<string, unknown>; current?: number } = {}) => ({
    id,
    route: { actors: ['prep', 'infer', 'post'], current: extra.current ?? 1 },
    headers: { traceparent: 't', ...extra.headers },
    payload: {
      error: 'processing_error',
      code: 'processing_error',
      details: { message: 'boom', type: 'ValueError' },
      original_payload: { x: 1 },
      failed_actor: 'infer',
      ...extra.payload,
    },
  });

  test('a first failure is retried to the failed actor with its attempt counted, the policy header removed', async () => {
    const handle = createErrorEnd(config(), { clock: () => at });
    const policy = { ...DEFAULT_RETRY_POLICY, initialDelaySeconds: 0.5, jitter: false };
    const out = await handle(failed('e1', { headers: { [RETRY_POLICY_HEADER]: policy, [ATTEMPTS_HEADER]: { prep: 2 } } }));
    expect(out.payload).toEqual({
      final_reported: true,
      retrying: { actor: 'infer', attempt: 1, max_attempts: 3, delay_ms: 500 },
      publish: [
        {
          queue: 'asya-infer',
          delay_ms: 500,
          envelope: { id: 'e1', route: { actors: ['prep', 'infer', 'post'], current: 1 }, headers: { traceparent: 't', [ATTEMPTS_HEADER]: { prep: 2, infer: 1 } }, payload: { x: 1 } },
        },
      ],
    });
    expect(sent('e1')).toEqual([
      expect.objectContaining({ path: '/envelopes/e1/progress', body: { actors: ['prep', 'infer', 'post'], current_actor_idx: 1, status: 'processing', message: 'retry 1/3 in 0.5 s' } }),
    ]);
  });

  test('the last attempt goes to the DLQ with the original envelope; failed is reported and the error stored once', async () => {
    const c = config();
    const handle = createErrorEnd(c, { clock: () => at });
    const input = failed('e2', { headers: { [ATTEMPTS_HEADER]: { infer: 2 } } });
    const out = await handle(input);
    const key = 'error-asya/2030-05-06T07:08:09.010000Z/infer/e2.json';
    const record = {
      id: 'e2',
      failed_actor: 'infer',
      error: 'processing_error',
      code: 'processing_error',
      details: { message: 'boom', type: 'ValueError' },
      attempts: 3,
      dead_lettered_at: at.toISOString(),
      storage_uri: c.storage.uri(key),
      envelope: { id: 'e2', route: { actors: ['prep', 'infer', 'post'], current: 1 }, headers: { traceparent: 't', [ATTEMPTS_HEADER]: { infer: 3 } }, payload: { x: 1 } },
    };
    expect(out.payload).toEqual({ final_reported: true, storage_uri: c.storage.uri(key), dead_lettered: true, publish: [{ queue: 'asya-dlq', envelope: record }] });
    expect(sent('e2').map((r) => r.body)).toEqual([
      {
        id: 'e2', status: 'failed', timestamp: at.toISOString(), error: 'processing_error', error_details: { message: 'boom', type: 'ValueError' },
        actors: ['prep', 'infer', 'post'], current_actor_idx: 1, current_actor_name: 'infer', metadata: { storage_uri: c.storage.uri(key) },
      },
    ]);
    expect(await handle(input)).toEqual(out);
    expect(sent('e2')).toHaveLength(1);
    expect(await c.storage.list('error-asya/2')).toEqual([key]);
    // A replayed envelope that fails for good again is a new generation: stored and reported again.
    await handle(failed('e2', { headers: { [ATTEMPTS_HEADER]: { infer: 2 }, [REPLAYS_HEADER]: 1 } }));
    expect(sent('e2')).toHaveLength(2);
  });

  test('a dead-letter record carries the trace id of an envelope that has a valid traceparent', async () => {
    const handle = createErrorEnd(config());
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const out = await handle(failed('e-traced', { headers: { traceparent, [ATTEMPTS_HEADER]: { infer: 2 } } }));
    expect(out.payload.publish).toEqual([{ queue: 'asya-dlq', envelope: expect.objectContaining({ id: 'e-traced', trace_id: '4bf92f3577b34da6a3ce929d0e0e4736' }) }]);
    // 't' above is no traceparent: no trace_id rather than a wrong one.
    const untraced = await handle(failed('e-untraced', { headers: { [ATTEMPTS_HEADER]: { infer: 2 } } }));
    expect((untraced.payload.publish as Array<{ envelope: Record<string, unknown> }>)[0]!.envelope).not.toHaveProperty('trace_id');
  });

  test('attempts count per actor: a later actor does not inherit an earlier one', async () => {
    const handle = createErrorEnd(config());
    const out = await handle(failed('e3', { headers: { [ATTEMPTS_HEADER]: { prep: 3 } } }));
    expect(out.payload.retrying).toMatchObject({ actor: 'infer', attempt: 1 });
  });

  test('non-retryable errors (by code or details.type) are dead-lettered at once', async () => {
    const handle = createErrorEnd(config());
    const byCode = await handle(failed('e4', { payload: { code: 'route_mismatch', error: 'Route mismatch: …' } }));
    expect(byCode.payload.publish).toEqual([{ queue: 'asya-dlq', envelope: expect.objectContaining({ code: 'route_mismatch', attempts: 1 }) }]);
    const policy = { ...DEFAULT_RETRY_POLICY, nonRetryableErrors: ['ValueError'] };
    const byType = await handle(failed('e5', { headers: { [RETRY_POLICY_HEADER]: JSON.stringify(policy) } }));
    expect(byType.payload.publish).toEqual([{ queue: 'asya-dlq', envelope: expect.objectContaining({ id: 'e5', attempts: 1 }) }]);
  });

  test("the original Go sidecar's error envelope (no code, no failed_actor) is retried at route.current", async () => {
    const handle = createErrorEnd(config());
    const out = await handle({ id: 'e6', route: { actors: ['prep', 'infer'], current: 0 }, payload: { error: 'processing_error', details: { type: 'ValueError' }, original_payload: 7 } });
    expect(out.payload.publish).toEqual([expect.objectContaining({ queue: 'asya-prep', envelope: expect.objectContaining({ payload: 7 }) })]);
  });

  test('no loops: not an error envelope, or naming error-end itself, goes straight to the DLQ', async () => {
    const handle = createErrorEnd(config(false));
    for (const [id, payload] of [['e7', { hello: 'world' }], ['e8', { error: 'x', failed_actor: 'error-end', original_payload: 1 }], ['e9', 'text']] as const) {
      const out = await handle({ id, route: { actors: ['a'], current: 0 }, payload });
      expect(out.payload.publish).toEqual([
        { queue: 'asya-dlq', envelope: expect.objectContaining({ id, failed_actor: null, code: 'invalid_error_envelope', attempts: 0, envelope: expect.objectContaining({ payload }) }) },
      ]);
      expect(out.payload.final_reported).toBeUndefined();
    }
  });
});
