/** Both storages pass the same tests: a temporary directory, and S3 on moto_server. */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startMoto, type MotoServer } from '../test/support/moto.ts';
import { markerKey } from './keys.ts';
import { markReported, readMarker, storeOnce } from './once.ts';
import { FileStorage, S3Storage, storageFromEnv, type Storage } from './storage.ts';

let moto: MotoServer;
let dir: string;
beforeAll(async () => {
  // One request at a time: threaded moto lets two conditional writers both win (see startMoto).
  moto = await startMoto({ serial: true });
  dir = mkdtempSync(join(tmpdir(), 'asya-storage-'));
});
afterAll(async () => {
  await moto?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const s3Env = (bucket: string) => ({ ASYA_S3_BUCKET: bucket, ASYA_S3_ENDPOINT: moto.endpoint, ASYA_S3_ACCESS_KEY: 'test', ASYA_S3_SECRET_KEY: 'test' });

const kinds: Array<[string, () => Storage]> = [
  ['filesystem', () => new FileStorage(join(dir, randomUUID()))],
  ['S3 (moto)', () => storageFromEnv(s3Env(`bucket-${randomUUID().slice(0, 8)}`))],
];

describe.each(kinds)('%s storage', (_kind, make) => {
  test('put, get, exists and list', async () => {
    const storage = make();
    expect(await storage.get('happy-asya/x.json')).toBeUndefined();
    expect(await storage.exists('happy-asya/x.json')).toBe(false);
    const uri = await storage.put('happy-asya/2025/a/x.json', '{"a":1}');
    expect(uri).toBe(storage.uri('happy-asya/2025/a/x.json'));
    await storage.put('error-asya/2025/b/y.json', '{}');
    expect(await storage.get('happy-asya/2025/a/x.json')).toBe('{"a":1}');
    expect(await storage.exists('happy-asya/2025/a/x.json')).toBe(true);
    expect(await storage.list('happy-asya/')).toEqual(['happy-asya/2025/a/x.json']);
    expect(await storage.list('')).toEqual(['error-asya/2025/b/y.json', 'happy-asya/2025/a/x.json']);
    await storage.put('happy-asya/2025/a/x.json', 'replaced');
    expect(await storage.get('happy-asya/2025/a/x.json')).toBe('replaced');
  });

  test('putIfAbsent: of many concurrent writers exactly one wins, and its content stays', async () => {
    const storage = make();
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => storage.putIfAbsent('m/ids/one.json', `writer ${i}`)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await storage.get('m/ids/one.json')).toBe(`writer ${results.indexOf(true)}`);
    expect(await storage.putIfAbsent('m/ids/one.json', 'late')).toBe(false);
    // An empty object (a flag) too, and in a folder not made yet.
    const flags = await Promise.all(Array.from({ length: 8 }, () => storage.putIfAbsent('m/new/one.reported', '')));
    expect(flags.filter(Boolean)).toHaveLength(1);
    expect([await storage.get('m/new/one.reported'), await storage.exists('m/new/one.reported')]).toEqual(['', true]);
  });

  test('storeOnce stores one object per id; a redelivery finds the marker and writes nothing', async () => {
    const storage = make();
    const marker = markerKey('happy-asya/', 'id-1');
    const first = await storeOnce(storage, marker, { objectKey: 'happy-asya/t1/a/id-1.json', body: 'v1', at: new Date(1000) });
    const again = await storeOnce(storage, marker, { objectKey: 'happy-asya/t2/a/id-1.json', body: 'v2', at: new Date(2000) });
    expect(again).toEqual(first);
    expect(first).toMatchObject({ key: 'happy-asya/t1/a/id-1.json', reported: false, at: new Date(1000).toISOString() });
    expect(await storage.list('happy-asya/t')).toEqual(['happy-asya/t1/a/id-1.json']);
    await markReported(storage, marker);
    expect(await readMarker(storage, marker)).toEqual({ ...first, reported: true });
    // The flag sits beside the marker, which stays as it was claimed; a second report changes nothing.
    expect(await storage.get('happy-asya/ids/id-1.reported')).toBe('');
    expect(JSON.parse((await storage.get(marker))!)).toEqual({ uri: first.uri, key: first.key, at: first.at });
    await markReported(storage, marker);
    expect(await readMarker(storage, marker)).toEqual({ ...first, reported: true });
  });

  test('a marker written before the reported flag existed still says whether it was reported', async () => {
    const storage = make();
    const old = (id: string, reported: boolean) => ({ uri: storage.uri(`happy-asya/t1/a/${id}.json`), key: `happy-asya/t1/a/${id}.json`, reported, at: 'then' });
    await storage.put(markerKey('happy-asya/', 'old-1'), JSON.stringify(old('old-1', true)));
    await storage.put(markerKey('happy-asya/', 'old-2'), JSON.stringify(old('old-2', false)));
    expect(await readMarker(storage, markerKey('happy-asya/', 'old-1'))).toEqual(old('old-1', true));
    expect(await readMarker(storage, markerKey('happy-asya/', 'old-2'))).toEqual(old('old-2', false));
  });

  test('a crash between claiming the marker and writing the object is repaired by the redelivery', async () => {
    const storage = make();
    const marker = markerKey('happy-asya/', 'id-2');
    await storage.putIfAbsent(marker, JSON.stringify({ uri: storage.uri('happy-asya/t1/a/id-2.json'), key: 'happy-asya/t1/a/id-2.json', reported: false, at: 'x' }));
    await storeOnce(storage, marker, { objectKey: 'happy-asya/t9/a/id-2.json', body: 'body', at: new Date() });
    expect(await storage.list('happy-asya/t')).toEqual(['happy-asya/t1/a/id-2.json']);
    expect(await storage.get('happy-asya/t1/a/id-2.json')).toBe('body');
  });
});

test('the filesystem storage refuses keys that leave its directory, and its URIs are file paths', async () => {
  const storage = new FileStorage(join(dir, 'fs'));
  await expect(storage.put('../escape.json', 'x')).rejects.toThrow(/leaves/);
  const uri = await storage.put('a/b.json', 'x');
  expect(readFileSync(fileURLToPath(uri), 'utf8')).toBe('x');
});

test('the filesystem storage writes into a folder removed since it made it (someone tidied the results)', async () => {
  const root = join(dir, 'tidied');
  const storage = new FileStorage(root);
  await storage.put('results/ids/a.json', 'first');
  rmSync(root, { recursive: true, force: true });
  await storage.put('results/ids/b.json', 'second');
  expect(await storage.putIfAbsent('results/ids/a.json', 'again')).toBe(true);
  expect([await storage.get('results/ids/a.json'), await storage.get('results/ids/b.json'), await storage.get('results/ids/c.json')]).toEqual(['again', 'second', undefined]);
});

test('S3: the bucket is created when missing; URIs are s3://bucket/key', async () => {
  const bucket = `made-${randomUUID().slice(0, 8)}`;
  const storage = storageFromEnv(s3Env(bucket));
  expect(storage).toBeInstanceOf(S3Storage);
  expect(await storage.put('happy-asya/k.json', '{}')).toBe(`s3://${bucket}/happy-asya/k.json`);
  const client = new S3Client({ ...moto.clientConfig, forcePathStyle: true });
  await expect(client.send(new HeadBucketCommand({ Bucket: bucket }))).resolves.toBeDefined();
  client.destroy();
});

test('without ASYA_S3_BUCKET the storage is a directory: ASYA_RESULTS_DIR, default .data/results', () => {
  expect((storageFromEnv({}, '/srv') as FileStorage).root).toBe('/srv/.data/results');
  expect((storageFromEnv({ ASYA_RESULTS_DIR: 'out' }, '/srv') as FileStorage).root).toBe('/srv/out');
});
