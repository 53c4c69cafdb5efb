/**
 * Every final report settles its envelope: results jsonb cannot hold (NUL, lone surrogates) are stored and
 * given back as sent, and a report too large to read ends the envelope `failed` with result_too_large.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayClient } from '../../protocol/gateway-client.ts';
import type { JsonValue } from '../../protocol/json.ts';
import { takePublished } from '../../test/support/gateway-harness.ts';
import { startRestFixture, type RestFixture } from '../../test/support/rest-fixture.ts';

let f: RestFixture;

beforeAll(async () => {
  f = await startRestFixture('finals');
});

afterAll(async () => {
  await f?.stop();
});

async function newEnvelope(): Promise<string> {
  const called = await f.call('echo', { message: 'm' });
  await takePublished(f.transport, 'echo');
  return called.parsed!.envelope_id as string;
}

describe('results PostgreSQL cannot hold as jsonb are stored anyway, and come back as sent', () => {
  it.each<[string, JsonValue]>([
    ['a NUL in a string', { text: 'before\u0000after' }],
    ['a NUL in a key', { 'k\u0000ey': [1, '\u0000'] }],
    ['a lone high surrogate', '\ud800 alone'],
    ['a lone low surrogate in a nested key', { outer: { ['\udc00']: true, pair: '\ud83d\ude00' } }],
    ['text that looks like an escape', { text: '\\u0000 is six characters', n: '\\\\ud800' }],
    ['a value shaped like the escape wrapper itself', { '\uF8FFasya-escaped-json': '{"a":1}' }],
  ])('%s', async (_what, result) => {
    const id = await newEnvelope();
    const final = await f.sidecar.final(id, { status: 'succeeded', result });
    expect(final).toEqual({ status: 200, body: { status: 'ok' } });
    const read = await f.request('GET', `/envelopes/${id}`);
    expect(read.json).toMatchObject({ status: 'succeeded' });
    expect(read.json.result).toEqual(result);
    const history = await f.gw.store.eventsSince(id, 0);
    expect(history.at(-1)).toMatchObject({ status: 'succeeded', result });
  });

  it('a failed report with NUL in its error text and details still lands', async () => {
    const id = await newEnvelope();
    const final = await f.sidecar.final(id, { status: 'failed', error: 'bad\u0000byte', error_details: { raw: 'x\u0000y\udfff' }, current_actor_name: 'echo' });
    expect(final.status).toBe(200);
    const read = await f.request('GET', `/envelopes/${id}`);
    expect(read.json).toMatchObject({ status: 'failed', error: 'bad\uFFFDbyte', result: { error: 'bad\uFFFDbyte', details: { raw: 'x\u0000y\udfff' } } });
  });
});

describe('a final report over the body limit ends its envelope failed (result_too_large)', () => {
  const big = (bytes: number) => ({ status: 'succeeded', result: { blob: 'x'.repeat(bytes) } });

  it('with a declared Content-Length: 413, and the envelope is failed with the code', async () => {
    const id = await newEnvelope();
    const res = await f.request('POST', `/envelopes/${id}/final`, big(10 * 1024 * 1024 + 10));
    expect(res.status).toBe(413);
    expect(res.json).toEqual({ error: 'Request body too large: the limit is 10485760 bytes', code: 'result_too_large', envelope_status: 'failed' });
    const read = await f.request('GET', `/envelopes/${id}`);
    expect(read.json).toMatchObject({
      status: 'failed',
      error: "result_too_large: the final report is larger than the gateway's limit of 10485760 bytes (ASYA_GATEWAY_MAX_BODY_BYTES)",
      result: { code: 'result_too_large', max_bytes: 10485760 },
    });
  });

  it('chunked, found too large while reading: the same', async () => {
    const id = await newEnvelope();
    const url = new URL(f.gw.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: url.hostname, port: url.port, method: 'POST', path: `/envelopes/${id}/final`, headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } });
      req.once('response', (res) => (res.resume(), resolve(res.statusCode ?? 0)));
      req.once('error', reject);
      const chunk = 'x'.repeat(1024 * 1024);
      req.write('{"status": "succeeded", "result": "');
      // More than the limit, never ended: the gateway stops reading past the limit and answers.
      for (let i = 0; i < 12; i++) req.write(chunk);
    });
    expect(status).toBe(413);
    expect((await f.request('GET', `/envelopes/${id}`)).json).toMatchObject({ status: 'failed', result: { code: 'result_too_large' } });
  });

  it('the end actor sending it is done with it (nothing to retry or dead-letter), and the client sees the failure on the stream', async () => {
    const id = await newEnvelope();
    const warnings: string[] = [];
    const client = gatewayClient({ url: f.gw.url, log: { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error() {} }, attempts: 1 });
    const report = { id, status: 'succeeded', timestamp: new Date().toISOString(), result: 'y'.repeat(11 * 1024 * 1024) } as const;
    await expect(client.final(id, report)).resolves.toBe('accepted');
    expect(warnings.join('\n')).toMatch(/too large and ended the envelope failed/);
    const res = await fetch(`${f.gw.url}/envelopes/${id}/stream`);
    const text = await res.text();
    expect(text).toMatch(/"status":"failed"/);
    expect(text).toContain('result_too_large');
  });
});

describe('progress after success (gateway/http/succeeded-ids.ts)', () => {
  it('is answered as the store answers it, without the store; a failure still goes to the store', async () => {
    const done = await newEnvelope();
    const failed = await newEnvelope();
    // What the store says about a late report, before this gateway has seen the success itself.
    const other = await newEnvelope();
    await f.gw.store.setFinal(other, { status: 'succeeded' });
    const fromStore = await f.sidecar.progress(other, ['echo'], 0, 'completed');
    expect(await f.sidecar.final(done, { status: 'succeeded', result: { ok: true } })).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await f.sidecar.final(failed, { status: 'failed', error: 'boom' })).toMatchObject({ status: 200 });
    const store = f.gw.store as { appendProgress: (...args: never[]) => unknown };
    const real = store.appendProgress;
    const asked: string[] = [];
    store.appendProgress = function (this: unknown, ...args: never[]) {
      asked.push(String(args[0]));
      return real.apply(this, args);
    };
    try {
      const late = await f.sidecar.progress(done, ['echo'], 0, 'completed');
      expect(late).toEqual(fromStore);
      expect(late.body).toEqual({ status: 'ignored', reason: 'envelope is already succeeded', progress_percent: 100 });
      // A failure can be replayed, so its progress is the store's to judge.
      expect((await f.sidecar.progress(failed, ['echo'], 0, 'completed')).body).toMatchObject({ status: 'ignored' });
      // Bad input is still refused, success or not.
      expect((await f.sidecar.post(`/envelopes/${done}/progress`, { status: 'finished' })).status).toBe(400);
    } finally {
      store.appendProgress = real;
    }
    expect(asked).toEqual([failed]);
  });
});
