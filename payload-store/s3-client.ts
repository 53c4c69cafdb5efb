/**
 * One S3 client layer for everything Asya keeps in S3 (the crew's results, the payload store): the SDK is
 * loaded on first use, MinIO and moto get path-style addressing, and the bucket is created when missing.
 */
import type { BucketLocationConstraint, S3Client } from '@aws-sdk/client-s3';
import { asError } from '../protocol/errors.ts';

export interface S3Options {
  bucket: string;
  region: string;
  /** MinIO, moto: path-style addressing. */
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

export type S3Sdk = typeof import('@aws-sdk/client-s3');
export interface OpenedS3 {
  client: S3Client;
  sdk: S3Sdk;
}

/** Opens lazily and once; a failed bucket check is tried again on the next call. */
export function lazyS3(options: S3Options): () => Promise<OpenedS3> {
  let opening: Promise<OpenedS3> | undefined;
  let ready: Promise<void> | undefined;
  return async () => {
    opening ??= import('@aws-sdk/client-s3').then((sdk) => ({
      sdk,
      client: new sdk.S3Client({
        region: options.region,
        ...(options.endpoint ? { endpoint: options.endpoint, forcePathStyle: true } : {}),
        ...(options.credentials ? { credentials: options.credentials } : {}),
      }),
    }));
    const opened = await opening;
    ready ??= ensureBucket(opened, options).catch((err: unknown) => {
      ready = undefined;
      throw err;
    });
    await ready;
    return opened;
  };
}

async function ensureBucket({ client, sdk }: OpenedS3, options: S3Options): Promise<void> {
  const Bucket = options.bucket;
  try {
    await client.send(new sdk.HeadBucketCommand({ Bucket }));
    return;
  } catch (err) {
    // 403 and friends: the bucket may exist without our ListBucket right; writes will tell.
    if (!isS3NotFound(err)) return;
  }
  try {
    const location = options.region === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: options.region as BucketLocationConstraint } };
    await client.send(new sdk.CreateBucketCommand({ Bucket, ...location }));
  } catch (err) {
    const name = asError(err).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
  }
}

export function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

export function isS3NotFound(err: unknown): boolean {
  const name = asError(err).name;
  return statusOf(err) === 404 || name === 'NotFound' || name === 'NoSuchKey' || name === 'NoSuchBucket';
}
