/**
 * Once-only storing and reporting. Brokers deliver at least once, so an end actor sees the same envelope again
 * after a crash or a lost ack. A marker per id records where the envelope was stored, and a flag beside it
 * (keys.ts, reportedKey) that its final status was reported; a redelivery finds them and neither writes a
 * second object nor reports twice.
 *
 * The marker is claimed (create-if-absent) before the object is written, so two racing copies agree on one
 * key; a crash between the two leaves a marker without its object, which the redelivery then writes.
 * Two copies handled at once by one crew process (concurrency > 1) take turns per marker (perKey), so the
 * second sees the first's report and does not send its own.
 */
import { isPlainObject } from '../protocol/index.ts';
import { reportedKey } from './keys.ts';
import type { Storage } from './storage.ts';

export interface Marker {
  uri: string;
  key: string;
  reported: boolean;
  /** When the envelope was first stored (ISO 8601); stays the same on redelivery. */
  at: string;
}

export async function readMarker(storage: Storage, key: string): Promise<Marker | undefined> {
  const text = await storage.get(key);
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`marker ${key} is not JSON; delete it to store the envelope again`);
  }
  if (!isPlainObject(value) || typeof value.uri !== 'string' || typeof value.key !== 'string') {
    throw new Error(`marker ${key} is not {uri, key, at}; delete it to store the envelope again`);
  }
  // Markers written before the reported flag existed say so themselves.
  const reported = value.reported === true || (await storage.exists(reportedKey(key)));
  return { uri: value.uri, key: value.key, reported, at: typeof value.at === 'string' ? value.at : '' };
}

/** Stores `body` under `objectKey` unless this id was stored before; returns the marker either way. */
export async function storeOnce(storage: Storage, markerKey: string, plan: { objectKey: string; body: string; at: Date }): Promise<Marker> {
  let marker = await readMarker(storage, markerKey);
  if (!marker) {
    const claimed: Marker = { uri: storage.uri(plan.objectKey), key: plan.objectKey, reported: false, at: plan.at.toISOString() };
    if (await storage.putIfAbsent(markerKey, JSON.stringify({ uri: claimed.uri, key: claimed.key, at: claimed.at }))) {
      await storage.put(plan.objectKey, plan.body);
      return claimed;
    }
    marker = await readMarker(storage, markerKey);
    if (!marker) throw new Error(`marker ${markerKey} exists and does not: storage is inconsistent`);
  }
  if (!marker.reported && !(await storage.exists(marker.key))) await storage.put(marker.key, plan.body);
  return marker;
}

/** Creates the marker's reported flag; a flag already there (another copy reported) is as good. */
export async function markReported(storage: Storage, markerKey: string): Promise<void> {
  await storage.putIfAbsent(reportedKey(markerKey), '');
}

/** The body the crew stores: the whole envelope as received, readable. */
export function storedBody(envelope: unknown): string {
  return `${JSON.stringify(envelope, null, 2)}\n`;
}

/**
 * Runs work for one key after the work already queued for it in this process, so two copies of one envelope
 * never interleave between reading the marker and marking it reported. Keys with nothing queued are dropped.
 */
export function perKey(): <T>(key: string, work: () => Promise<T>) => Promise<T> {
  const tails = new Map<string, Promise<void>>();
  return async (key, work) => {
    const current = (tails.get(key) ?? Promise.resolve()).then(work);
    const tail = current.then(
      () => {},
      () => {},
    );
    tails.set(key, tail);
    try {
      return await current;
    } finally {
      if (tails.get(key) === tail) tails.delete(key);
    }
  };
}
