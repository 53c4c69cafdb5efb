/**
 * Where the crew stores envelopes: the original's key layout `{prefix}{timestamp}/{last_actor}/{id}.json`
 * (docs/crew.md, "happy-end"), with its last-actor rule fixed, plus the once-only markers `{prefix}ids/{id}.json` and `{prefix}ids/{id}.reported`.
 */

/**
 * The actor the envelope is "at": `actors[current]` while current is in range (for an error envelope, the
 * actor that failed), else the last actor (an envelope that finished its route). The original tested
 * `0 < current`, so a failure at the first actor was filed under the last one.
 */
export function lastActor(route: unknown): string {
  const { actors, current } = (route ?? {}) as { actors?: unknown; current?: unknown };
  if (!Array.isArray(actors) || actors.length === 0) return 'unknown';
  const at = Number.isInteger(current) && (current as number) >= 0 && (current as number) < actors.length ? (current as number) : actors.length - 1;
  const name = actors[at];
  return typeof name === 'string' && name !== '' ? name : 'unknown';
}

/** Python's `%Y-%m-%dT%H:%M:%S.%fZ` in UTC: six fractional digits, of which JavaScript knows three. */
export function timestampSegment(date: Date): string {
  return `${date.toISOString().slice(0, 23)}000Z`;
}

/** The characters a key segment keeps as they are; any other is percent-encoded, byte by byte. */
const SAFE = 'A-Za-z0-9._~-';
const SAFE_CHAR = new RegExp(`^[${SAFE}]$`);
const SAFE_SEGMENT = new RegExp(`^[${SAFE}]+$`);

/**
 * Ids and actor names come from messages, so a key segment must not be able to climb out of its folder
 * (`..`, `/`) or carry characters that S3 consoles and shells mangle. Plain ids (UUIDs) are unchanged.
 */
export function keySegment(value: string): string {
  if (SAFE_SEGMENT.test(value) && value !== '.' && value !== '..') return value;
  const encoded = Array.from(value, (c) =>
    SAFE_CHAR.test(c) ? c : [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  ).join('');
  if (encoded === '') return '%00';
  return encoded === '.' || encoded === '..' ? encoded.replace(/\./g, '%2E') : encoded;
}

export function envelopeKey(prefix: string, envelope: { id: string; route?: unknown }, now: Date): string {
  return `${prefix}${timestampSegment(now)}/${keySegment(lastActor(envelope.route))}/${keySegment(envelope.id)}.json`;
}

/** One marker per id, per replay generation (a replayed envelope may legitimately fail and be filed again). */
export function markerKey(prefix: string, id: string, generation = 0): string {
  return `${prefix}ids/${keySegment(id)}${generation > 0 ? `.replay-${generation}` : ''}.json`;
}

/**
 * Beside a marker, an empty object whose presence says its envelope's final status was reported: created once
 * (create-if-absent) instead of rewriting the marker, which on disk replaced a file per envelope.
 */
export function reportedKey(markerKey: string): string {
  return `${markerKey.replace(/\.json$/, '')}.reported`;
}
