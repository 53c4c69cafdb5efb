/**
 * happy-end: stores each finished envelope once and reports `succeeded` to the gateway once, however often
 * the broker delivers it. Runs in the Node runtime (`ASYA_HANDLER=crew/happy-end.ts#handle`, envelope mode,
 * validation off) behind a sidecar in end-actor mode; see docs/crew.md for the contract with that sidecar.
 */
import { envelopeLogFields, isPlainObject, succeededReport, type Envelope, type JsonObject } from '../protocol/index.ts';
import { lazyHandler, type CrewConfig } from './config.ts';
import { envelopeKey, markerKey } from './keys.ts';
import { markReported, perKey, storedBody, storeOnce } from './once.ts';
import { traceCrewCall } from './tracing.ts';

export interface CrewAnswer {
  payload: JsonObject;
}

class ValueError extends Error {
  override readonly name = 'ValueError';
}

/** What both crew handlers require of a message, with the original's error messages. */
export function requireEnvelope(value: unknown): Envelope {
  if (!isPlainObject(value)) throw new ValueError(`Envelope must be a dict, got ${value === null ? 'null' : Array.isArray(value) ? 'list' : typeof value}`);
  if (typeof value.id !== 'string' || value.id === '') throw new ValueError('Envelope missing required field: id');
  return value as unknown as Envelope;
}

/** The gateway shows `s3_uri` in its completion message (the original's field); `storage_uri` is ours. */
export function storageMetadata(uri: string): JsonObject {
  return uri.startsWith('s3://') ? { storage_uri: uri, s3_uri: uri } : { storage_uri: uri };
}

export function createHappyEnd(config: CrewConfig, clock: () => Date = () => new Date()) {
  const inTurn = perKey();
  return (value: unknown): Promise<CrewAnswer> =>
    traceCrewCall('happy-end', value, async () => {
      const envelope = requireEnvelope(value);
      const marker = markerKey(config.resultsPrefix, envelope.id);
      return inTurn(marker, () => storeAndReport(config, envelope, marker, clock()));
    });
}

async function storeAndReport(config: CrewConfig, envelope: Envelope, marker: string, now: Date): Promise<CrewAnswer> {
  const stored = await storeOnce(config.storage, marker, {
    objectKey: envelopeKey(config.resultsPrefix, envelope, now),
    body: storedBody(envelope),
    at: now,
  });
  // Without a gateway here the sidecar reports, if it has one; it gets the storage URI as metadata.
  if (!config.gateway) return { payload: { storage_uri: stored.uri } };
  if (!stored.reported) {
    await config.gateway.final(envelope.id, succeededReport(envelope, storageMetadata(stored.uri), now));
    await markReported(config.storage, marker);
    config.log.debug(() => `Stored the result at ${stored.uri} and reported success`, envelopeLogFields(envelope));
  } else {
    config.log.info(`Envelope ${envelope.id} was stored and reported before (redelivery); nothing to do`, envelopeLogFields(envelope));
  }
  return { payload: { final_reported: true, storage_uri: stored.uri } };
}

/** The runtime's entry point: configured from the environment on the first message. */
export const handle = lazyHandler('happy-end', createHappyEnd);
