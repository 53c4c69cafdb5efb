/**
 * Fan-in: the contract between the fan-in crew actor and the gateway that keeps its state, and the shape of
 * the combined payload both the gateway and the docs promise. Declared once here (crew/ builds the request,
 * gateway/ validates it) so a renamed field is a type error on the other side.
 */
import { z } from 'zod';
import { FAN_IN_ACTOR } from './queues.ts';
import type { JsonObject, JsonValue } from './json.ts';

/**
 * - `wait-all`: wait for every child; a failed one keeps its place in the list as a FanInFailure;
 * - `fail-fast`: the first failed child fails the parent envelope; the route does not continue;
 * - `partial`: wait for every child, continue with `{results, errors}` (only the children that succeeded).
 */
export const FAN_IN_POLICIES = ['wait-all', 'fail-fast', 'partial'] as const;
export type FanInPolicy = (typeof FAN_IN_POLICIES)[number];

export { FAN_IN_ACTOR };

/** What stands in a failed or missing child's place (wait-all) or in the error list (partial). */
export interface FanInFailure {
  fan_in_error: { id: string; index: number; error: string };
}

/** The payload under the `partial` policy. */
export interface PartialResults {
  results: JsonValue[];
  errors: FanInFailure['fan_in_error'][];
}

const NOT_AN_OBJECT = 'Invalid request body: expected a JSON object';

/** POST /envelopes/{child id}/fan-in: one child reached the fan-in step (internal token). */
export const FanInArrivalRequest = z.object(
  {
    parent_id: z.string({ error: 'Invalid request body: parent_id must be a string' }).min(1, { error: 'Invalid request body: parent_id must be a string' }),
    actor: z.string({ error: 'Invalid request body: actor must be a string' }).min(1),
    policy: z.enum(FAN_IN_POLICIES, { error: `Invalid request body: policy must be one of ${FAN_IN_POLICIES.join(', ')}` }),
    timeout_ms: z.int({ error: 'Invalid request body: timeout_ms must be a positive integer' }).positive({ error: 'Invalid request body: timeout_ms must be a positive integer' }),
    /** The route the combined envelope continues on: `current` already past the fan-in step. */
    route: z.object({
      actors: z.array(z.string().min(1), { error: 'Invalid request body: route.actors must be a list of actor names' }),
      current: z.int({ error: 'Invalid request body: route.current must be an integer' }).min(0),
      metadata: z.record(z.string(), z.custom<JsonValue>(() => true)).optional(),
    }, { error: 'Invalid request body: route must be {actors, current}' }),
    /** The queue of actors[current], or happy-end's past the end (the gateway does not know the end actors' names). */
    queue: z.string({ error: 'Invalid request body: queue must be a string' }).min(1),
    payload: z.custom<JsonValue>(() => true),
  },
  { error: NOT_AN_OBJECT },
);
export type FanInArrival = z.infer<typeof FanInArrivalRequest>;

/**
 * - `waiting`: recorded; siblings are still on their way;
 * - `emitted`: this was the last one; the combined envelope is on its way (exactly one per parent);
 * - `failed`: the policy failed the parent (fail-fast);
 * - `ignored`: nothing changed (a redelivered child, or one that came after the fan-in had finished).
 */
export type FanInAnswer = { status: 'waiting' | 'emitted' | 'failed' | 'ignored'; reason?: string };

/** The combined envelope's route metadata is the first arrival's; this type names what travels. */
export type FanInRoute = { actors: string[]; current: number; metadata?: JsonObject };

/**
 * Header the sidecar puts on every fan-out child, so a fan-in without a gateway knows the fan-out: one
 * entry per fan-out level the envelope is inside, innermost last. A fan-in joins the innermost level and
 * the combined envelope carries the rest, so nested fan-outs join level by level. Old readers ignore it.
 */
export const FAN_OUT_HEADER = 'x-asya-fan-out';

export interface FanOutLevel {
  parent_id: string;
  index: number;
  size: number;
}

function isLevel(value: unknown): value is FanOutLevel {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return typeof v.parent_id === 'string' && v.parent_id.length > 0 && Number.isInteger(v.index) && Number.isInteger(v.size) && (v.index as number) >= 0 && (v.index as number) < (v.size as number);
}

/** The header's levels, or an error text when it is there but malformed. */
export function fanOutLevels(headers: JsonObject | undefined): FanOutLevel[] | { error: string } {
  const value = headers?.[FAN_OUT_HEADER];
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every(isLevel)) return { error: `header ${FAN_OUT_HEADER} must be a list of {parent_id, index, size} with 0 <= index < size` };
  return value as unknown as FanOutLevel[];
}

/** A child's headers: its parent's, with this fan-out's level appended. */
export function withFanOutLevel(headers: JsonObject | undefined, level: FanOutLevel): JsonObject {
  const outer = fanOutLevels(headers);
  const levels = Array.isArray(outer) ? outer : [];
  return { ...headers, [FAN_OUT_HEADER]: [...levels, level] as unknown as JsonValue };
}

/** The combined envelope's headers: the child's, without the level the fan-in just joined. */
export function withoutInnerLevel(headers: JsonObject | undefined, levels: readonly FanOutLevel[]): JsonObject | undefined {
  if (!headers) return undefined;
  const rest = levels.slice(0, -1);
  const { [FAN_OUT_HEADER]: _joined, ...others } = headers;
  if (rest.length > 0) return { ...others, [FAN_OUT_HEADER]: rest as unknown as JsonValue };
  return Object.keys(others).length > 0 ? others : undefined;
}
