/**
 * Offloading and resolving payloads: the two operations every component performs on a claim check, with the
 * hash computed and checked on the bytes themselves.
 */
import { createHash } from 'node:crypto';
import { PAYLOAD_CONTENT_TYPE, refPayload, type JsonObject, type PayloadRef } from '../protocol/index.ts';
import { FilePayloadStore } from './file-store.ts';
import { S3PayloadStore } from './s3-store.ts';
import { payloadKey, PayloadUnreadableError, type PayloadStore } from './store.ts';

/** The store's settings as components read them (protocol/settings.ts, PAYLOAD_STORE_SETTINGS). */
export interface PayloadStoreSettings {
  payloadStore?: string | undefined;
  payloadOffloadBytes?: number | undefined;
  payloadS3Endpoint?: string | undefined;
  payloadS3Region: string;
}

/**
 * Below each broker's limit with room for the envelope around the payload (route, headers, ids): SQS takes
 * 256 KiB per message, NATS 1 MiB by default, and RabbitMQ takes more but slows down with large messages.
 */
export const DEFAULT_OFFLOAD_BYTES: Record<string, number> = {
  sqs: 192 * 1024,
  nats: 768 * 1024,
  rabbitmq: 1024 * 1024,
  memory: 1024 * 1024,
};

export function offloadThreshold(settings: Pick<PayloadStoreSettings, 'payloadOffloadBytes'>, transportKind: string): number {
  return settings.payloadOffloadBytes ?? DEFAULT_OFFLOAD_BYTES[transportKind] ?? DEFAULT_OFFLOAD_BYTES.rabbitmq!;
}

/** The configured store, or undefined when payloads travel inline. */
export function payloadStoreOf(settings: PayloadStoreSettings): PayloadStore | undefined {
  const where = settings.payloadStore;
  if (!where) return undefined;
  if (where.startsWith('s3://')) {
    const [bucket = '', ...rest] = where.slice('s3://'.length).split('/');
    if (!bucket) throw new Error(`ASYA_PAYLOAD_STORE=${where}: an S3 store needs a bucket (s3://bucket/prefix)`);
    return new S3PayloadStore({
      bucket,
      prefix: rest.join('/'),
      region: settings.payloadS3Region,
      ...(settings.payloadS3Endpoint ? { endpoint: settings.payloadS3Endpoint } : {}),
    });
  }
  return new FilePayloadStore(where.startsWith('file://') ? new URL(where).pathname : where);
}

/** Stores a payload's JSON text (`bytes`) for `envelopeId` and returns the payload that refers to it. */
export async function offloadPayload(store: PayloadStore, envelopeId: string, bytes: Uint8Array): Promise<{ ref: PayloadRef; payload: JsonObject }> {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const uri = await store.put(payloadKey(envelopeId, sha256), bytes, PAYLOAD_CONTENT_TYPE);
  const ref: PayloadRef = { uri, size: bytes.byteLength, sha256, content_type: PAYLOAD_CONTENT_TYPE };
  return { ref, payload: refPayload(ref) };
}

/** The payload's JSON text, checked against its reference. */
export async function resolvePayloadBytes(store: PayloadStore, ref: PayloadRef): Promise<Buffer> {
  const bytes = await store.read(ref.uri, ref.size);
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== ref.sha256) throw new PayloadUnreadableError(`${ref.uri} does not match its reference (sha256 ${actual}, expected ${ref.sha256})`);
  return bytes;
}
