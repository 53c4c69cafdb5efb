/** The payload store on S3 (or MinIO, moto: path-style): `s3://bucket/prefix`. */
import { Readable } from 'node:stream';
import { errorText } from '../protocol/errors.ts';
import { isS3NotFound, lazyS3, type OpenedS3, type S3Options } from './s3-client.ts';
import { PayloadStoreUnavailableError, PayloadUnreadableError, type PayloadStore } from './store.ts';

export class S3PayloadStore implements PayloadStore {
  private readonly open: () => Promise<OpenedS3>;
  private readonly bucket: string;
  /** '' or ending in '/'. */
  private readonly prefix: string;

  constructor(options: S3Options & { prefix: string }) {
    const { prefix, ...s3 } = options;
    this.bucket = s3.bucket;
    this.prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    this.open = lazyS3(s3);
  }

  get location(): string {
    return `s3://${this.bucket}/${this.prefix}`;
  }

  async put(key: string, body: Uint8Array, contentType: string): Promise<string> {
    const Key = this.prefix + key;
    await this.attempt(`write s3://${this.bucket}/${Key}`, async ({ client, sdk }) => {
      await client.send(new sdk.PutObjectCommand({ Bucket: this.bucket, Key, Body: body, ContentType: contentType, ContentLength: body.byteLength }));
    });
    return `s3://${this.bucket}/${Key}`;
  }

  async read(uri: string, size: number): Promise<Buffer> {
    const Key = this.keyOf(uri);
    return this.attempt(`read ${uri}`, async ({ client, sdk }) => {
      const out = await client.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key }));
      if (out.ContentLength !== undefined && out.ContentLength !== size) {
        (out.Body as Readable | undefined)?.destroy();
        throw new PayloadUnreadableError(`${uri} holds ${out.ContentLength} bytes, its reference says ${size}`);
      }
      // Straight into one buffer of the stated size: no chunk list to concatenate, no string.
      const buffer = Buffer.allocUnsafe(size);
      let filled = 0;
      for await (const chunk of out.Body as Readable) {
        const bytes = chunk as Buffer;
        if (filled + bytes.length > size) throw new PayloadUnreadableError(`${uri} is longer than the ${size} bytes its reference says`);
        bytes.copy(buffer, filled);
        filled += bytes.length;
      }
      if (filled !== size) throw new PayloadUnreadableError(`${uri} ended after ${filled} of ${size} bytes`);
      return buffer;
    });
  }

  async stream(uri: string): Promise<Readable> {
    const Key = this.keyOf(uri);
    return this.attempt(`read ${uri}`, async ({ client, sdk }) => {
      const out = await client.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key }));
      return out.Body as Readable;
    });
  }

  async deleteUnder(prefix: string): Promise<number> {
    return this.attempt(`delete under ${this.location}${prefix}`, async ({ client, sdk }) => {
      let count = 0;
      let token: string | undefined;
      do {
        const page = await client.send(new sdk.ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken: token }));
        const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
        if (keys.length > 0) await client.send(new sdk.DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys, Quiet: true } }));
        count += keys.length;
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return count;
    });
  }

  async days(): Promise<string[]> {
    return this.attempt(`list ${this.location}`, async ({ client, sdk }) => {
      const days: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new sdk.ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, Delimiter: '/', ContinuationToken: token }));
        for (const p of page.CommonPrefixes ?? []) if (p.Prefix) days.push(p.Prefix.slice(this.prefix.length, -1));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return days.sort();
    });
  }

  /** A reference may only name an object under this store's prefix: a forged one must not read the bucket. */
  private keyOf(uri: string): string {
    const head = `s3://${this.bucket}/${this.prefix}`;
    if (!uri.startsWith(head) || uri.length === head.length) throw new PayloadUnreadableError(`${uri} is outside the payload store ${this.location}`);
    const key = uri.slice(`s3://${this.bucket}/`.length);
    if (key.split('/').includes('..')) throw new PayloadUnreadableError(`${uri} is outside the payload store ${this.location}`);
    return key;
  }

  private async attempt<T>(what: string, action: (s3: OpenedS3) => Promise<T>): Promise<T> {
    try {
      return await action(await this.open());
    } catch (err) {
      if (err instanceof PayloadUnreadableError) throw err;
      if (isS3NotFound(err)) throw new PayloadUnreadableError(`cannot ${what}: the object does not exist (deleted, or past retention)`, { cause: err });
      throw new PayloadStoreUnavailableError(`cannot ${what}: ${errorText(err)}`, { cause: err });
    }
  }
}
