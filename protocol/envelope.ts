/**
 * The envelope and its validation. Messages are the original runtime's, word for word, because users'
 * tests and alerts match on them (reference: original-dataplane.md §2.6).
 */
import { isPlainObject, pyRepr, type JsonObject, type JsonValue } from './json.ts';

export interface Route {
  actors: string[];
  current: number;
  metadata?: JsonObject;
}

export interface Envelope {
  id: string;
  parent_id?: string;
  route: Route;
  headers?: JsonObject;
  payload: JsonValue;
  /** RFC 3339; written by the gateway, enforced by every sidecar (the original dropped it after one hop). */
  deadline?: string;
}

export class EnvelopeValidationError extends Error {
  override readonly name = 'ValueError';
}

/** Validates an input envelope and returns the stripped copy the original runtime hands to handlers. */
export function validateEnvelope(value: unknown): Record<string, unknown> {
  const stripped = validateShape(value);
  checkId(stripped);
  return stripped;
}

/** The original checks `id` last, after an output's route edits, so it is kept apart from the shape. */
function checkId(envelope: Record<string, unknown>): void {
  if ('id' in envelope && typeof envelope.id !== 'string') {
    throw new EnvelopeValidationError("Field 'id' must be a string");
  }
}

function validateShape(value: unknown): Record<string, unknown> {
  if (!isPlainObject(value)) {
    throw new EnvelopeValidationError(`Envelope must be a JSON object, got ${jsonTypeName(value)}`);
  }
  if (!('payload' in value)) throw new EnvelopeValidationError("Missing required field 'payload' in envelope");
  if (!('route' in value)) throw new EnvelopeValidationError("Missing required field 'route' in envelope");
  const route = value.route;
  if (!isPlainObject(route)) throw new EnvelopeValidationError("Field 'route' must be a dict");
  if (!('actors' in route)) throw new EnvelopeValidationError("Missing required field 'actors' in route");
  const actors = route.actors;
  if (!Array.isArray(actors)) throw new EnvelopeValidationError("Field 'route.actors' must be a list");
  if (!('current' in route)) route.current = 0;
  const current = route.current;
  // Python's bool is an int, so the original accepts true/false here; we keep that for identical answers.
  if (!(Number.isInteger(current) || typeof current === 'boolean')) {
    throw new EnvelopeValidationError("Field 'route.current' must be an integer");
  }
  if (actors.length === 0) throw new EnvelopeValidationError("Field 'route.actors' cannot be empty");
  const index = Number(current);
  if (index < 0 || index > actors.length) {
    throw new EnvelopeValidationError(
      `Invalid route.current=${pyRepr(current)}: out of bounds for actors of length ${actors.length}`,
    );
  }
  if ('headers' in value && !isPlainObject(value.headers)) {
    throw new EnvelopeValidationError("Field 'headers' must be a dict");
  }
  const stripped: Record<string, unknown> = { payload: value.payload, route };
  for (const key of ['id', 'parent_id', 'headers'] as const) if (key in value) stripped[key] = value[key];
  return stripped;
}

/**
 * Validates an envelope a handler returned in envelope mode against the route it was given: future actors
 * may be added or replaced, processed ones (0..current) may not be touched.
 */
export function validateOutputEnvelope(output: unknown, input: { route: { actors: unknown[]; current: unknown } }) {
  const stripped = validateShape(output);
  const inActors = input.route.actors;
  const inCurrent = Number(input.route.current);
  const outActors = (stripped.route as { actors: unknown[] }).actors;
  const processedIn = inActors.slice(0, inCurrent + 1);
  const processedOut = outActors.slice(0, inCurrent + 1);
  if (pyRepr(processedIn) !== pyRepr(processedOut)) {
    throw new EnvelopeValidationError(
      `Route modification error: already-processed actors cannot be erased. Input route had ${pyRepr(processedIn)} ` +
        `(actors 0-${inCurrent}), but output route starts with ${pyRepr(processedOut)}. ` +
        'Runtimes can add future actors but must preserve all actors up to current.',
    );
  }
  checkId(stripped);
  return stripped;
}

/** The actor that should process the envelope now, or '' past the end (the original's GetCurrentActor). */
export function currentActor(route: Pick<Route, 'actors' | 'current'>): string {
  const { actors, current } = route;
  return Number.isInteger(current) && current >= 0 && current < actors.length ? (actors[current] ?? '') : '';
}

/** Loose parse used by the sidecar: anything with a JSON object body and a route-shaped route is routable. */
export function parseEnvelope(body: Buffer | string): { envelope?: Envelope; error?: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (err) {
    return { error: `Failed to parse message: ${(err as Error).message}` };
  }
  if (!isPlainObject(parsed)) return { error: `Failed to parse message: envelope must be a JSON object, got ${jsonTypeName(parsed)}` };
  const route = parsed.route;
  if (!isPlainObject(route) || !Array.isArray(route.actors) || !route.actors.every((a) => typeof a === 'string')) {
    return { error: 'Failed to parse message: route.actors must be a list of strings' };
  }
  if (route.current !== undefined && !Number.isInteger(route.current)) {
    return { error: 'Failed to parse message: route.current must be an integer' };
  }
  if (parsed.id !== undefined && typeof parsed.id !== 'string') {
    return { error: 'Failed to parse message: id must be a string' };
  }
  if (parsed.headers !== undefined && !isPlainObject(parsed.headers)) {
    return { error: 'Failed to parse message: headers must be an object' };
  }
  const envelope = { ...parsed, route: { ...route, current: (route.current as number | undefined) ?? 0 } };
  if (!('payload' in envelope)) (envelope as Record<string, unknown>).payload = null;
  return { envelope: envelope as unknown as Envelope };
}

export function jsonTypeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  return typeof value;
}
