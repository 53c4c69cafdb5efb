/**
 * The payload store on its own: both stores (a directory, and S3 on moto) keep and return payloads byte for
 * byte, refuse references outside themselves, tell a missing object from an unreachable store, and delete
 * by day; the response scanner finds each result's payload in the bytes a runtime wrote.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deletePayloadDaysBefore } from '../gateway/sweeper.ts';
import { createLogger, payloadRefOf, refPayload } from '../protocol/index.ts';
import { startMoto, type MotoServer } from '../test/support/moto.ts';
import { FilePayloadStore } from './file-store.ts';
import { offloadPayload, offloadThreshold, payloadStoreOf, resolvePayloadBytes } from './claim-check.ts';
import { scanResults } from './response-scan.ts';
import { S3PayloadStore } from './s3-store.ts';
import { PayloadStoreUnavailableError, PayloadUnreadableError, type PayloadStore } from './store.ts';

const quiet = createLogger('ERROR', 'test.payloads');
let moto: MotoServer;
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'asya-store-'));
  dirs.push(dir);
  return dir;
};

beforeAll(async () => {
  moto = await startMoto();
}, 60_000);
afterAll(async () => {
  await moto?.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const stores: Array<[string, () => PayloadStore]> = [
  ['a directory', () => new FilePayloadStore(tempDir())],
  ['S3 (moto)', () => new S3PayloadStore({ bucket: `b-${Math.random().toString(36).slice(2, 10)}`, prefix: 'pre', ...moto.clientConfig })],
];

describe.each(stores)('the payload store on %s', (_, make) => {
  it('keeps a payload and gives back the same bytes, checked against the reference', async () => {
    const store = make();
    const bytes = Buffer.from(JSON.stringify({ text: 'é'.repeat(100_000) }));
    const { ref, payload } = await offloadPayload(store, 'env/1', bytes);
    expect(payloadRefOf(payload)).toEqual(ref);
    expect(ref).toMatchObject({ size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), content_type: 'application/json' });
    expect((await resolvePayloadBytes(store, ref)).equals(bytes)).toBe(true);
    const streamed: Buffer[] = [];
    for await (const chunk of await store.stream(ref.uri)) streamed.push(chunk as Buffer);
    expect(Buffer.concat(streamed).equals(bytes)).toBe(true);
  });

  it('a reference whose size or hash does not match, or whose object is gone, is unreadable', async () => {
    const store = make();
    const { ref } = await offloadPayload(store, 'env-2', Buffer.from('{"a":1}'));
    await expect(resolvePayloadBytes(store, { ...ref, size: ref.size + 1 })).rejects.toBeInstanceOf(PayloadUnreadableError);
    await expect(resolvePayloadBytes(store, { ...ref, sha256: '0'.repeat(64) })).rejects.toThrow(/does not match its reference/);
    expect(await store.deleteUnder(ref.uri.split('/').slice(-3, -2)[0]! + '/')).toBe(1);
    await expect(resolvePayloadBytes(store, ref)).rejects.toThrow(/does not exist/);
  });

  it('refuses references outside itself, so a forged one cannot read other files or objects', async () => {
    const store = make();
    const { ref } = await offloadPayload(store, 'env-3', Buffer.from('{}'));
    const outside = ref.uri.startsWith('s3://') ? ref.uri.replace('/pre/', '/other/') : 'file:///etc/passwd';
    await expect(store.read(outside, 1)).rejects.toThrow(/outside the payload store/);
    const climbing = ref.uri.startsWith('s3://') ? ref.uri.replace('/pre/', '/pre/../') : `${ref.uri.split('/').slice(0, -3).join('/')}/../../etc/passwd`;
    await expect(store.read(climbing, 1)).rejects.toBeInstanceOf(PayloadUnreadableError);
  });

  it('lists its days and deletes those older than retention', async () => {
    const store = make();
    await offloadPayload(store, 'env-4', Buffer.from('{"today":true}'));
    const today = new Date().toISOString().slice(0, 10);
    expect(await store.days()).toEqual([today]);
    expect(await deletePayloadDaysBefore(store, new Date(), quiet)).toBe(0);
    expect(await deletePayloadDaysBefore(store, new Date(Date.now() + 2 * 86_400_000), quiet)).toBe(1);
    expect(await store.days()).toEqual([]);
  });
});

describe('store failures', () => {
  it('an S3 store that cannot be reached is unavailable (retry later), not unreadable', async () => {
    const store = new S3PayloadStore({ bucket: 'b', prefix: '', region: 'us-east-1', endpoint: 'http://127.0.0.1:1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    await expect(store.put('k', Buffer.from('{}'), 'application/json')).rejects.toBeInstanceOf(PayloadStoreUnavailableError);
  });

  it('a directory store that cannot be written is unavailable', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'blocked'), '');
    const store = new FilePayloadStore(join(dir, 'blocked'));
    await expect(offloadPayload(store, 'e', Buffer.from('{}'))).rejects.toBeInstanceOf(PayloadStoreUnavailableError);
  });
});

describe('settings', () => {
  it('the store follows ASYA_PAYLOAD_STORE; the threshold defaults per transport', () => {
    expect(payloadStoreOf({ payloadS3Region: 'us-east-1' })).toBeUndefined();
    expect(payloadStoreOf({ payloadStore: 's3://bucket/a/b', payloadS3Region: 'us-east-1' })?.location).toBe('s3://bucket/a/b/');
    expect(payloadStoreOf({ payloadStore: 'file:///var/payloads', payloadS3Region: 'us-east-1' })?.location).toBe('/var/payloads');
    expect(() => payloadStoreOf({ payloadStore: 's3:///x', payloadS3Region: 'us-east-1' })).toThrow(/needs a bucket/);
    expect([offloadThreshold({}, 'sqs'), offloadThreshold({}, 'nats'), offloadThreshold({}, 'rabbitmq'), offloadThreshold({ payloadOffloadBytes: 10 }, 'sqs')]).toEqual([196608, 786432, 1048576, 10]);
  });

  it('only an object with the one reference key and valid fields is a reference', () => {
    const ref = { uri: 's3://b/k', size: 3, sha256: 'a'.repeat(64), content_type: 'application/json' };
    expect(payloadRefOf(refPayload(ref))).toEqual(ref);
    expect(payloadRefOf({ asya_payload_ref: ref, other: 1 })).toBeUndefined();
    expect(payloadRefOf({ asya_payload_ref: { ...ref, uri: 'http://x' } })).toBeUndefined();
    expect(payloadRefOf({ asya_payload_ref: { ...ref, sha256: 'nothex' } })).toBeUndefined();
    expect(payloadRefOf('text')).toBeUndefined();
  });
});

describe('scanning a runtime response', () => {
  const scan = (text: string) => scanResults(Buffer.from(text))?.map((r) => ({ element: text.slice(r.start, r.end), payload: r.payload ? text.slice(r.payload.start, r.payload.end) : undefined }));

  it("finds each element and its payload, whatever the payload's shape or the strings around it hold", () => {
    const results = [
      { route: { actors: ['a'], current: 1 }, payload: { s: 'a "quoted" \\ }]{[ string', n: [1, 2, { x: null }] } },
      { payload: 'plain', headers: { k: '\\"' } },
      { route: { actors: [], current: 0 } },
      { payload: -1.5e3 },
      { payload: true, extra: [] },
    ];
    const text = JSON.stringify(results, null, 1);
    expect(scan(text)).toEqual(results.map((r) => ({ element: expect.any(String), payload: 'payload' in r ? JSON.stringify(r.payload, null, 1).replace(/\n/g, '\n  ') : undefined })));
    for (const [i, item] of scan(text)!.entries()) expect(JSON.parse(item.element)).toEqual(results[i]);
    expect(scan('[]')).toEqual([]);
  });

  it('gives up on anything that is not an array of JSON values (the ordinary parser then says why)', () => {
    for (const bad of ['{}', '[', '[{"payload": "x}]', '[1,]', '[{"payload" 1}]', '[] x', '[{"a":1}{"b":2}]']) expect(scan(bad), bad).toBeUndefined();
  });
});
