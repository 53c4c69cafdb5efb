/**
 * The sidecar's half of the claim check (docs/payloads.md): a reference in an input is resolved before the
 * runtime is called, so every handler (ours and the original's runtime) sees the whole payload; a result
 * over the threshold is stored, and its envelope carries the reference on.
 */
import { errorText, isPlainObject, jsonTextNestsDeeper, MAX_JSON_DEPTH, payloadRefOf, sleep, type Envelope, type JsonValue, type Logger, type RuntimeResult } from '../protocol/index.ts';
import { offloadPayload, PayloadStoreUnavailableError, resolvePayloadBytes, scanResults, type PayloadStore } from '../payload-store/index.ts';
import { parseResponse, RuntimeCallError } from './runtime-client.ts';

/** Between attempts while the store is away; the delivery is held meanwhile, up to the limit. */
const STORE_BACKOFF_MS = [200, 500, 1000, 2000, 5000];

export type RuntimeBody = { body: Buffer | Buffer[] } | { unreadable: string } | { requeue: string };

export interface ClaimCheckOptions {
  store: PayloadStore | undefined;
  thresholdBytes: number;
  log: Logger;
  stopping: AbortSignal;
  /** How long one delivery may wait for the store before it goes back to the queue. */
  holdLimitMs: number;
}

export class ClaimCheck {
  constructor(private readonly options: ClaimCheckOptions) {}

  /** What the runtime gets: the delivery as it came, or the envelope around its resolved payload. */
  async runtimeBody(delivery: { body: Buffer }, input: Envelope): Promise<RuntimeBody> {
    const ref = payloadRefOf(input.payload);
    if (!ref) return { body: delivery.body };
    const { store } = this.options;
    if (!store) return { unreadable: `the payload is a reference to ${ref.uri}, but this sidecar has no payload store (ASYA_PAYLOAD_STORE)` };
    let bytes: Buffer;
    try {
      bytes = await this.patiently(`resolve ${ref.uri}`, () => resolvePayloadBytes(store, ref));
    } catch (err) {
      if (err instanceof PayloadStoreUnavailableError) return { requeue: err.message };
      return { unreadable: `the payload's reference cannot be resolved: ${errorText(err)}` };
    }
    // The payload's own bytes go to the runtime as they are, between the rest of the envelope's JSON.
    const { payload: _ref, ...rest } = input;
    const restJson = JSON.stringify(rest);
    const head = Buffer.from('{"payload":');
    const tail = Buffer.from(restJson === '{}' ? '}' : `,${restJson.slice(1)}`);
    return { body: [head, bytes, tail] };
  }

  /** A reader for the runtime's answer that offloads large payloads, or undefined when there is no store. */
  responseReader(input: Envelope): ((frame: Buffer) => Promise<RuntimeResult[]>) | undefined {
    const { store, thresholdBytes } = this.options;
    if (!store) return undefined;
    return async (frame) => {
      if (frame.length <= thresholdBytes) return parseResponse(frame);
      const scanned = scanResults(frame);
      // Not an array of results, or nested too deep: the ordinary parser gives the runtime's error.
      if (!scanned || jsonTextNestsDeeper(frame, MAX_JSON_DEPTH + 1)) return parseResponse(frame);
      const results: RuntimeResult[] = [];
      // One at a time: a fan-out of large children holds one upload in flight, not all of them.
      for (const item of scanned) {
        const { payload } = item;
        if (!payload || payload.end - payload.start <= thresholdBytes) {
          results.push(parseElement(frame.toString('utf8', item.start, item.end)));
          continue;
        }
        const bytes = frame.subarray(payload.start, payload.end);
        let stored: JsonValue;
        try {
          stored = (await this.patiently(`store a result of ${bytes.length} bytes`, () => offloadPayload(store, input.id, bytes))).payload;
        } catch (err) {
          throw new RuntimeCallError('result_not_stored', `a result of ${bytes.length} bytes could not be stored in ${store.location}: ${errorText(err)}`);
        }
        const text = frame.toString('utf8', item.start, payload.start) + JSON.stringify(stored) + frame.toString('utf8', payload.end, item.end);
        results.push(parseElement(text));
      }
      return results;
    };
  }

  /** Retries while the store is unavailable, up to the hold limit; other errors go straight to the caller. */
  private async patiently<T>(what: string, action: () => Promise<T>): Promise<T> {
    const { log, stopping, holdLimitMs } = this.options;
    const giveUpAt = Date.now() + holdLimitMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await action();
      } catch (err) {
        if (!(err instanceof PayloadStoreUnavailableError) || stopping.aborted || Date.now() >= giveUpAt) throw err;
        const wait = STORE_BACKOFF_MS[Math.min(attempt, STORE_BACKOFF_MS.length - 1)]!;
        if (attempt % 5 === 0) log.warn(`Payload store unavailable (${err.message}); holding the message, trying again to ${what} in ${wait} ms`);
        await sleep(wait, stopping);
      }
    }
  }
}

function parseElement(text: string): RuntimeResult {
  const value: unknown = JSON.parse(text);
  if (!isPlainObject(value)) throw new RuntimeCallError('invalid_response', 'failed to parse runtime response: an element is not an object');
  return value as unknown as RuntimeResult;
}
