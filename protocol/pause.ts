/**
 * Pause and resume on the wire (docs/concepts.md, "Pause and resume"). A handler pauses its envelope by
 * returning one result whose headers carry PAUSE_HEADER: the runtimes' `pause()` helpers write it, and an
 * envelope-mode handler of the original's runtime can write it itself. The result's route and payload are
 * where the envelope continues once someone answers; the answer lands in the payload under `input_key`.
 *
 * The sidecar hands the paused envelope to the gateway (PauseRequest) and acks: nothing waits on a broker,
 * a sidecar slot or a pod while a person thinks. Resume (ResumeRequest) comes from REST, `asya resume` or
 * an MCP client's elicitation answer, and the gateway publishes the envelope onwards through its outbox.
 */
import { z } from 'zod';
import { isPlainObject, type JsonObject, type JsonValue } from './json.ts';
import { PAUSE_HEADER } from './pause-header.ts';

export { PAUSE_HEADER };
/** Where the answer lands in the resumed payload unless the pause names another key. */
export const DEFAULT_INPUT_KEY = 'resume_input';

const json = z.custom<JsonValue>(() => true);
const jsonObject = z.custom<JsonObject>((v) => isPlainObject(v));

/** What a handler asks for: the fields of PAUSE_HEADER. */
export const PauseSpec = z.object({
  prompt: z.string({ error: 'pause prompt must be a non-empty string' }).min(1, { error: 'pause prompt must be a non-empty string' }),
  schema: z.custom<JsonObject>((v) => isPlainObject(v), { error: 'pause schema must be a JSON Schema object' }).nullish(),
  timeout_seconds: z
    .number({ error: 'pause timeout_seconds must be a positive number' })
    .positive({ error: 'pause timeout_seconds must be a positive number' })
    .nullish(),
  /** Taken as the answer when the timeout passes; without one the envelope fails then. */
  default: json.optional(),
  input_key: z.string({ error: 'pause input_key must be a non-empty string' }).min(1, { error: 'pause input_key must be a non-empty string' }).nullish(),
});
export type PauseSpec = z.input<typeof PauseSpec>;

/** Reads PAUSE_HEADER's value; the error names what is wrong with it. */
export function parsePauseSpec(value: unknown): { spec: z.output<typeof PauseSpec> } | { error: string } {
  if (!isPlainObject(value)) return { error: `header ${PAUSE_HEADER} must be an object with a prompt` };
  const parsed = PauseSpec.safeParse(value);
  if (!parsed.success) return { error: parsed.error.issues[0]?.message ?? `invalid ${PAUSE_HEADER}` };
  return { spec: parsed.data };
}

/** POST /envelopes/{id}/pause (internal token), sent by the sidecar of the actor whose handler paused. */
export const PauseRequest = PauseSpec.extend({
  /** The actor that paused, for the history and the prompt's context. */
  actor: z.string({ error: 'Invalid request body: actor must be a string' }).min(1, { error: 'Invalid request body: actor must be a string' }),
  /** Where the envelope goes on resume (the next actor's queue, or happy-end's). */
  queue: z.string({ error: 'Invalid request body: queue must be a string' }).min(1, { error: 'Invalid request body: queue must be a string' }),
  /** The envelope as it continues, without PAUSE_HEADER; the answer is added to its payload. */
  envelope: jsonObject,
});
export type PauseRequest = z.input<typeof PauseRequest>;

/** POST /envelopes/{id}/resume (client token). `input` is checked against the pause's schema. */
export const ResumeRequest = z.object({ input: json.optional() }, { error: 'Invalid request body: expected {"input": ...}' });
export type ResumeRequest = z.input<typeof ResumeRequest>;

/** GET /envelopes/{id}/pause: what the envelope waits for. */
export const PauseView = z.object({
  envelope_id: z.string(),
  prompt: z.string(),
  actor: z.string(),
  schema: jsonObject.optional(),
  timeout_seconds: z.number().optional(),
  /** RFC 3339; absent when the pause waits without end. */
  expires_at: z.string().optional(),
  has_default: z.boolean(),
  default: json.optional(),
  input_key: z.string(),
  paused_at: z.string(),
});
export type PauseView = z.infer<typeof PauseView>;

/** The answer that lands in the resumed payload: an object payload gains `input_key`; anything else is wrapped. */
export function withInput(payload: JsonValue, inputKey: string, input: JsonValue): JsonObject {
  const base: JsonObject = isPlainObject(payload) ? { ...(payload as JsonObject) } : payload === null ? {} : { payload };
  base[inputKey] = input;
  return base;
}
