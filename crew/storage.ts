/**
 * Where the crew keeps envelopes and its once-only markers: a directory in dev, S3 (or MinIO, moto) in
 * production, with the original's environment variables (docs/crew.md, "Environment").
 */
import { randomUUID } from 'node:crypto';
import { closeSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fromEnv, type Settings } from '../settings/index.ts';
import { CREW_SETTINGS } from './settings.ts';
import { isS3NotFound, lazyS3, statusOf, type OpenedS3, type S3Options } from '../payload-store/s3-client.ts';

export interface Storage {
  /** A URI naming where `key` lives (file:///..., s3://bucket/key). */
  uri(key: string): string;
  /** Writes (or overwrites) `key`; returns its URI. */
  put(key: string, body: string): Promise<string>;
  /** Writes `key` only if nothing is there yet; false when something was. Atomic: concurrent writers get one winner. */
  putIfAbsent(key: string, body: string): Promise<boolean>;
  get(key: string): Promise<string | undefined>;
  exists(key: string): Promise<boolean>;
  /** Every key under `prefix`, sorted. */
  list(prefix: string): Promise<string[]>;
}

type Env = Record<string, string | undefined>;

/** `ASYA_S3_BUCKET` set → S3; otherwise a directory (`ASYA_RESULTS_DIR`, default `.data/results`). */
export function storageFromEnv(env: Env = process.env, cwd = process.cwd()): Storage {
  return storageFromSettings(fromEnv(CREW_SETTINGS, env), cwd);
}

export function storageFromSettings(settings: Settings<typeof CREW_SETTINGS>, cwd = process.cwd()): Storage {
  const { s3Bucket: bucket, s3Endpoint: endpoint, s3AccessKey: accessKeyId, s3SecretKey: secretAccessKey, awsRegion: region } = settings;
  if (!bucket) return new FileStorage(resolve(cwd, settings.resultsDir));
  // As the original: with an endpoint (MinIO) the keys default to MinIO's; on AWS the SDK's chain decides
  // unless both keys are given.
  const credentials = endpoint
    ? { accessKeyId: accessKeyId || 'minioadmin', secretAccessKey: secretAccessKey || 'minioadmin' }
    : accessKeyId && secretAccessKey
      ? { accessKeyId, secretAccessKey }
      : undefined;
  return new S3Storage({ bucket, region, ...(endpoint ? { endpoint } : {}), ...(credentials ? { credentials } : {}) });
}

export class FileStorage implements Storage {
  /** Folders this process made: a write into one skips mkdir (one syscall of three per write). */
  private readonly madeDirs = new Set<string>();

  constructor(readonly root: string) {}

  uri(key: string): string {
    return pathToFileURL(this.path(key)).href;
  }

  async put(key: string, body: string): Promise<string> {
    const path = this.path(key);
    const temp = this.temp(path, body);
    // Rename is atomic: a reader (or a crash) never sees half an object.
    renameSync(temp, path);
    return this.uri(key);
  }

  async putIfAbsent(key: string, body: string): Promise<boolean> {
    const path = this.path(key);
    // Nothing to see half written: an empty object (a flag) is created in one step, without a temporary file.
    if (body === '') return this.createEmpty(path);
    const temp = this.temp(path, body);
    try {
      // link() fails with EEXIST instead of replacing: create-if-absent with the full content at once.
      linkSync(temp, path);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    } finally {
      rmSync(temp, { force: true });
    }
  }

  async get(key: string): Promise<string | undefined> {
    const path = this.path(key);
    // A missing key is the usual case (a marker on first delivery): stat tells it without a thrown error's cost.
    if (!statSync(path, { throwIfNoEntry: false })) return undefined;
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    return statSync(this.path(key), { throwIfNoEntry: false })?.isFile() ?? false;
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    const walk = (dir: string) => {
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const entry of entries) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (!entry.name.startsWith('.tmp-')) keys.push(relative(this.root, path).split(sep).join('/'));
      }
    };
    walk(this.root);
    return keys.filter((k) => k.startsWith(prefix)).sort();
  }

  private path(key: string): string {
    const path = resolve(this.root, key);
    if (!path.startsWith(this.root + sep)) throw new Error(`storage key ${JSON.stringify(key)} leaves ${this.root}`);
    return path;
  }

  private temp(path: string, body: string): string {
    const temp = join(dirname(path), `.tmp-${randomUUID()}`);
    this.inFolderOf(temp, () => writeFileSync(temp, body));
    return temp;
  }

  private createEmpty(path: string): boolean {
    try {
      this.inFolderOf(path, () => closeSync(openSync(path, 'wx')));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
  }

  /** Runs a write of `path`, its folder made first if this process has not made it yet. */
  private inFolderOf(path: string, write: () => void): void {
    const dir = dirname(path);
    if (!this.madeDirs.has(dir)) this.makeDir(dir);
    try {
      write();
    } catch (err) {
      // Removed since this process made it (someone tidied the results): make it again.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.makeDir(dir);
      write();
    }
  }

  private makeDir(dir: string): void {
    mkdirSync(dir, { recursive: true });
    // Object folders are per millisecond: remember the recent ones only (the markers' folder is always among them).
    if (this.madeDirs.size >= 1024) this.madeDirs.clear();
    this.madeDirs.add(dir);
  }
}

export type S3StorageOptions = S3Options;

export class S3Storage implements Storage {
  private readonly open: () => Promise<OpenedS3>;

  constructor(readonly options: S3StorageOptions) {
    this.open = lazyS3(options);
  }

  uri(key: string): string {
    return `s3://${this.options.bucket}/${key}`;
  }

  async put(key: string, body: string): Promise<string> {
    const { client, sdk } = await this.open();
    await client.send(new sdk.PutObjectCommand({ Bucket: this.options.bucket, Key: key, Body: body, ContentType: 'application/json' }));
    return this.uri(key);
  }

  async putIfAbsent(key: string, body: string): Promise<boolean> {
    const { client, sdk } = await this.open();
    try {
      await client.send(new sdk.PutObjectCommand({ Bucket: this.options.bucket, Key: key, Body: body, ContentType: 'application/json', IfNoneMatch: '*' }));
      return true;
    } catch (err) {
      // 412: the key exists. 409: another conditional write to the key is in progress; it wins.
      const status = statusOf(err);
      if (status === 412 || status === 409) return false;
      throw err;
    }
  }

  async get(key: string): Promise<string | undefined> {
    const { client, sdk } = await this.open();
    try {
      const out = await client.send(new sdk.GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
      return await out.Body!.transformToString('utf8');
    } catch (err) {
      if (isS3NotFound(err)) return undefined;
      throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    const { client, sdk } = await this.open();
    try {
      await client.send(new sdk.HeadObjectCommand({ Bucket: this.options.bucket, Key: key }));
      return true;
    } catch (err) {
      if (isS3NotFound(err)) return false;
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const { client, sdk } = await this.open();
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const out = await client.send(new sdk.ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const object of out.Contents ?? []) if (object.Key) keys.push(object.Key);
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }
}
