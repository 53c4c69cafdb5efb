/**
 * The gateway's half of the claim check (docs/payloads.md): large tool arguments go to the payload store
 * when the envelope is created, and an offloaded result is resolved for the client up to a limit; past it
 * the client gets the reference and a download path, which streams the object.
 */
import { looksLikePayloadRef, payloadRefOf, type JsonValue, type PayloadRef } from '../../protocol/index.ts';
import { offloadPayload, resolvePayloadBytes, type PayloadStore } from '../../payload-store/index.ts';

export interface GatewayPayloads {
  /** None: payloads travel inline, and the broker refuses what it cannot take. */
  store: PayloadStore | undefined;
  offloadBytes: number;
  resolveBytes: number;
}

export class PayloadRefusedError extends Error {
  override readonly name = 'PayloadRefusedError';
}

/** Where a client downloads an envelope's offloaded result. */
export function resultPath(id: string): string {
  return `/envelopes/${encodeURIComponent(id)}/result`;
}

/**
 * The payload the envelope carries: the arguments, or a reference to them once stored. A client may not
 * send a reference itself: it could name another envelope's object.
 */
export async function payloadForEnvelope(payloads: GatewayPayloads | undefined, id: string, value: JsonValue): Promise<JsonValue> {
  if (looksLikePayloadRef(value)) throw new PayloadRefusedError('tool arguments may not be a payload reference (asya_payload_ref)');
  if (!payloads?.store) return value;
  const json = Buffer.from(JSON.stringify(value));
  if (json.length <= payloads.offloadBytes) return value;
  return (await offloadPayload(payloads.store, id, json)).payload;
}

/** What a client is shown for a result: the value itself, or (too large, or no store to read it) the reference. */
export async function resultForClient(payloads: GatewayPayloads | undefined, result: JsonValue): Promise<{ result: JsonValue; ref?: PayloadRef }> {
  const ref = payloadRefOf(result);
  if (!ref) return { result };
  if (!payloads?.store || ref.size > payloads.resolveBytes) return { result, ref };
  return { result: JSON.parse((await resolvePayloadBytes(payloads.store, ref)).toString('utf8')) as JsonValue };
}

/** An envelope's view with its result as the client sees it (resolved, or the reference and its download path). */
export async function viewForClient<V extends { id: string; result?: JsonValue | undefined; result_url?: string }>(payloads: GatewayPayloads | undefined, view: V): Promise<V> {
  if (view.result === undefined || !payloadRefOf(view.result)) return view;
  const shown = await resultForClient(payloads, view.result);
  return { ...view, result: shown.result, ...(shown.ref ? { result_url: resultPath(view.id) } : {}) };
}
