/**
 * A payload store keeps offloaded payloads (docs/payloads.md): a directory or an S3 bucket. Every object is
 * read back whole into one buffer of the size its reference states, so a resolve costs one copy of the
 * payload, not a string, a buffer and a parse tree.
 */
import type { Readable } from 'node:stream';

export interface PayloadStore {
  /** For logs and errors: `s3://bucket/prefix` or the directory. */
  readonly location: string;
  /** Writes `body` under `key` (relative to the store's root) and returns the object's URI. */
  put(key: string, body: Uint8Array, contentType: string): Promise<string>;
  /** The whole object; `size` is what its reference says (another length is a PayloadUnreadableError). */
  read(uri: string, size: number): Promise<Buffer>;
  /** The object as a stream, for a client's download. */
  stream(uri: string): Promise<Readable>;
  /** Deletes every object whose key starts with `prefix`; returns how many. */
  deleteUnder(prefix: string): Promise<number>;
  /** The top-level names (`YYYY-MM-DD` days) under the root, for retention. */
  days(): Promise<string[]>;
}

/** The object is gone, or the reference does not match it: reading again will not help. */
export class PayloadUnreadableError extends Error {
  override readonly name = 'PayloadUnreadableError';
}

/** The store could not be reached or refused for a reason that may pass: try again later. */
export class PayloadStoreUnavailableError extends Error {
  override readonly name = 'PayloadStoreUnavailableError';
}

/**
 * Where a payload of an envelope goes: by day first (so a lifecycle rule or the gateway's retention removes
 * whole days), then the envelope, then the content hash (a redelivered step writes the same key again).
 */
export function payloadKey(envelopeId: string, sha256: string, now = new Date()): string {
  return `${now.toISOString().slice(0, 10)}/${encodeURIComponent(envelopeId)}/${sha256}.json`;
}
