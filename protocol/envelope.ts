/**
 * The envelope and its validation. Messages are the original runtime's, word for word, because users'
 * tests and alerts match on them (docs/compatibility.md, "Kept identical").
 */
import { isPlainObject, jsonTextNestsDeeper, MAX_JSON_DEPTH, pyRepr, valueNestsDeeper, type JsonObject, type JsonValue } from './json.ts';
import { errorText } from './errors.ts';

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

/** Ids become URL path segments and database keys at the gateway, which refuses longer ones. */
export const MAX_ENVELOPE_ID_LENGTH = 512;

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

/** Why a message is not a routable envelope: the error-envelope `code` and a message for people. */
export interface EnvelopeProblem {
  error: string;
  code: 'parse_error' | 'validation_error' | 'nesting_too_deep';
  /** What could still be read (id, route, headers, ...) so the error reaches the right place; see salvageEnvelope. */
  salvage?: Partial<Envelope>;
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Loose parse used by the sidecar: anything with a JSON object body and a well-formed route is routable.
 * Never throws and never recurses: a message nested 100,000 levels deep is refused, not a stack overflow.
 */
export function parseEnvelope(body: Buffer | string, options: { endActor?: boolean } = {}): { envelope: Envelope } | EnvelopeProblem {
  // An end actor receives what actors send it: error envelopes hold the payload one level deeper than their
  // input did, and results past the end of a route (any index out of range) end there too.
  const maxDepth = options.endActor ? MAX_JSON_DEPTH + 1 : MAX_JSON_DEPTH;
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  let text: string;
  let notUtf8 = false;
  try {
    text = STRICT_UTF8.decode(bytes);
  } catch {
    // Decoded with replacement characters only to find the id and route; the payload is not kept.
    text = bytes.toString('utf8');
    notUtf8 = true;
  }
  let parsed: unknown;
  try {
    // V8's JSON.parse does not recurse, so depth is checked on the parsed value rather than before.
    parsed = JSON.parse(text);
  } catch (err) {
    return { error: `Failed to parse message: ${errorText(err)}`, code: 'parse_error' };
  }
  if (!isPlainObject(parsed)) {
    return { error: `Failed to parse message: envelope must be a JSON object, got ${jsonTypeName(parsed)}`, code: 'parse_error' };
  }
  const object = parsed;
  const refuse = (code: EnvelopeProblem['code'], error: string): EnvelopeProblem => ({ error, code, salvage: salvageEnvelope(object) });
  if (notUtf8) {
    const { payload: _replaced, ...withoutPayload } = salvageEnvelope(object);
    return { error: 'Failed to parse message: the body is not valid UTF-8', code: 'parse_error', salvage: withoutPayload };
  }
  if (jsonTextNestsDeeper(bytes, maxDepth)) return refuse('nesting_too_deep', `Message nests deeper than ${maxDepth} levels`);
  const problem = routeProblem(parsed.route, !options.endActor);
  if (problem) return refuse('validation_error', problem);
  if (parsed.id !== undefined && typeof parsed.id !== 'string') {
    return refuse('validation_error', `Field 'id' must be a string, got ${jsonTypeName(parsed.id)}`);
  }
  if (typeof parsed.id === 'string' && parsed.id.length > MAX_ENVELOPE_ID_LENGTH) {
    return refuse('validation_error', `Field 'id' is longer than ${MAX_ENVELOPE_ID_LENGTH} characters`);
  }
  if (parsed.headers !== undefined && !isPlainObject(parsed.headers)) {
    return refuse('validation_error', `Field 'headers' must be an object, got ${jsonTypeName(parsed.headers)}`);
  }
  const route = parsed.route as Record<string, unknown>;
  const envelope = { ...parsed, route: { ...route, current: (route.current as number | undefined) ?? 0 } };
  if (!('payload' in envelope)) (envelope as Record<string, unknown>).payload = null;
  return { envelope: envelope as unknown as Envelope };
}

/** `current` may equal the length (past the last actor: the pipeline is done), never more, never negative. */
function routeProblem(route: unknown, checkIndex: boolean): string | undefined {
  if (!isPlainObject(route)) return `Field 'route' must be an object, got ${jsonTypeName(route)}`;
  const { actors, current } = route;
  if (!Array.isArray(actors) || !actors.every((a) => typeof a === 'string')) return "Field 'route.actors' must be a list of strings";
  if (current === undefined) return undefined;
  if (!Number.isInteger(current)) return `Field 'route.current' must be an integer, got ${JSON.stringify(current)}`;
  if (checkIndex && !isRouteIndex(current, actors.length)) return `Invalid route.current=${current}: out of bounds for actors of length ${actors.length}`;
  return undefined;
}

function isRouteIndex(current: unknown, length: number): current is number {
  return Number.isInteger(current) && (current as number) >= 0 && (current as number) <= length;
}

/**
 * The well-formed parts of a message that is not a valid envelope: enough for its error to reach error-end
 * and the gateway under its id, and small and shallow enough to be serialised again. A part that is
 * malformed or nested too deep is left out; an out-of-range `current` becomes 0.
 */
export function salvageEnvelope(value: Record<string, unknown>): Partial<Envelope> {
  // The error envelope holds the payload one level deeper than an envelope does (payload.original_payload).
  const fits = (part: unknown) => !valueNestsDeeper(part, MAX_JSON_DEPTH - 2);
  const salvage: Partial<Envelope> = {};
  if (typeof value.id === 'string' && value.id.length <= MAX_ENVELOPE_ID_LENGTH) salvage.id = value.id;
  if (typeof value.parent_id === 'string') salvage.parent_id = value.parent_id;
  const route = value.route;
  if (isPlainObject(route) && Array.isArray(route.actors) && route.actors.every((a) => typeof a === 'string')) {
    const actors = route.actors as string[];
    salvage.route = { actors, current: isRouteIndex(route.current, actors.length) ? route.current : 0 };
    if (isPlainObject(route.metadata) && fits(route.metadata)) salvage.route.metadata = route.metadata as JsonObject;
  }
  if (isPlainObject(value.headers) && fits(value.headers)) salvage.headers = value.headers as JsonObject;
  if (typeof value.deadline === 'string') salvage.deadline = value.deadline;
  if ('payload' in value && fits(value.payload)) salvage.payload = value.payload as JsonValue;
  return salvage;
}

export function jsonTypeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  return typeof value;
}
