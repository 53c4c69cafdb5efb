/**
 * The claim check: a payload too large for the broker travels in a payload store, and the envelope's
 * `payload` is a reference to it (docs/payloads.md). An envelope whose payload is not a reference is
 * exactly what it always was, so everything here is opt-in on the wire.
 */
import { isPlainObject, type JsonObject } from './json.ts';

/** The one key of a reference payload: `{"asya_payload_ref": {uri, size, sha256, content_type}}`. */
export const PAYLOAD_REF_KEY = 'asya_payload_ref';

/** What is stored is always the payload's JSON text (UTF-8), so handlers see the value they would have seen inline. */
export const PAYLOAD_CONTENT_TYPE = 'application/json';

export interface PayloadRef {
  /** `s3://bucket/key` or `file:///path`: always inside the store that wrote it. */
  uri: string;
  /** Bytes of the stored JSON text. */
  size: number;
  /** Hex SHA-256 of those bytes: checked when the reference is resolved. */
  sha256: string;
  content_type: string;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The reference a payload holds, or undefined when it is an ordinary payload (including a malformed look-alike). */
export function payloadRefOf(payload: unknown): PayloadRef | undefined {
  if (!isPlainObject(payload)) return undefined;
  const keys = Object.keys(payload);
  if (keys.length !== 1 || keys[0] !== PAYLOAD_REF_KEY) return undefined;
  const ref = payload[PAYLOAD_REF_KEY];
  if (!isPlainObject(ref)) return undefined;
  const { uri, size, sha256, content_type } = ref;
  if (typeof uri !== 'string' || !/^(s3|file):\/\//.test(uri)) return undefined;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return undefined;
  if (typeof sha256 !== 'string' || !SHA256_HEX.test(sha256)) return undefined;
  if (typeof content_type !== 'string') return undefined;
  return { uri, size, sha256, content_type };
}

/** True when a payload claims to be a reference, well-formed or not (clients may not send one). */
export function looksLikePayloadRef(payload: unknown): boolean {
  return isPlainObject(payload) && PAYLOAD_REF_KEY in payload;
}

export function refPayload(ref: PayloadRef): JsonObject {
  return { [PAYLOAD_REF_KEY]: { uri: ref.uri, size: ref.size, sha256: ref.sha256, content_type: ref.content_type } };
}
