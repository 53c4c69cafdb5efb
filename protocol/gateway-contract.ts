/**
 * The gateway's REST and SSE bodies, declared once: the gateway validates requests with these schemas and
 * shapes its answers with their types; the sidecar, the crew and the CLI build their requests with the same
 * types and parse the answers with the same schemas, so a field renamed on one side is a type error on the
 * other. Field names and shapes are the original's wire format (docs/gateway.md); our additions are marked.
 *
 * Requests are read leniently where the original was (unknown fields are dropped, `null` counts as absent
 * for optional fields) and strictly enough to refuse nonsense with a 400 that names the field; the error
 * messages are part of the contract (clients and scripts match them), so each schema carries its own.
 * Clients parse answers with `.loose()` where they pass a body on (unknown fields kept), so a newer gateway
 * may add fields without breaking an older client.
 */
import { z } from 'zod';
import type { JsonObject, JsonValue } from './json.ts';

// ---------------------------------------------------------------------------------------------------------
// Shared vocabulary

/**
 * Cancel and timeout are `failed` with their own error text: the original's clients stop on succeeded|failed.
 * `paused` is ours: a handler asked for input (docs/concepts.md, "Pause and resume"); it is not final.
 */
export const ENVELOPE_STATUSES = ['pending', 'running', 'paused', 'succeeded', 'failed'] as const;
export type EnvelopeStatus = (typeof ENVELOPE_STATUSES)[number];
export const FINAL_STATUSES = ['succeeded', 'failed'] as const satisfies readonly EnvelopeStatus[];
export type FinalStatus = (typeof FINAL_STATUSES)[number];
/** The sidecar's per-actor report (the `status` field of POST /envelopes/{id}/progress). */
export const ACTOR_STATES = ['received', 'processing', 'completed'] as const;
export type ActorState = (typeof ACTOR_STATES)[number];
/** What an event records beyond its status: an actor's report, an operator's replay (reopen), a pause or its resume. */
export const EVENT_STATES = [...ACTOR_STATES, 'replayed', 'paused', 'resumed'] as const;
export type EventState = (typeof EVENT_STATES)[number];

export function isFinalStatus(status: string): status is FinalStatus {
  return (FINAL_STATUSES as readonly string[]).includes(status);
}

/**
 * Any JSON value. Bodies come out of JSON.parse, so every value already is one; walking a 10 MiB payload
 * again to prove it would cost the gateway's hot path for nothing.
 */
const json = z.custom<JsonValue>(() => true);
const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
const jsonObject = z.custom<JsonObject>(isObject);

type Issue = { path?: PropertyKey[] | undefined };
/** "Invalid request body: <field> <what>", naming the top-level field (also for a bad list element). */
const invalidField =
  (what: string) =>
  (issue: Issue): string =>
    `Invalid request body: ${String(issue.path?.[0] ?? 'body')} ${what}`;

const BODY_NOT_OBJECT = 'Invalid request body: expected a JSON object';
const NOT_A_STRING = invalidField('must be a string');
const optionalString = z.string({ error: NOT_A_STRING }).nullish();
const NOT_AN_INDEX = invalidField('must be a non-negative integer');
const optionalIndex = z.int({ error: NOT_AN_INDEX }).min(0, { error: NOT_AN_INDEX }).nullish();
const NOT_ACTOR_NAMES = invalidField('must be a list of actor names');
const actorName = z.string({ error: NOT_ACTOR_NAMES }).min(1, { error: NOT_ACTOR_NAMES });
const actorNames = z.array(actorName, { error: NOT_ACTOR_NAMES });
const optionalObject = z.record(z.string(), json, { error: invalidField('must be an object') }).nullish();

/**
 * A request as a sender fills it in: `K` always present. A sender declares its bodies with this rather than
 * re-declaring the fields, so a field renamed in the contract fails to compile where it is sent.
 */
export type Filled<T, K extends keyof T> = T & { [P in K]-?: NonNullable<T[P]> };

/** The message for a request body the schema refused: the first problem, as the original reported one. */
export function requestProblem(error: z.ZodError): string {
  return error.issues[0]?.message ?? 'Invalid request body';
}

// ---------------------------------------------------------------------------------------------------------
// Requests

/** POST /tools/call (the original's REST tool call). */
export const ToolCallRequest = z.object(
  {
    name: z
      .string({ error: (issue) => (issue.input === undefined ? 'Tool name is required' : 'Invalid request body: name must be a string') })
      .min(1, { error: 'Tool name is required' }),
    /** Checked against the tool's parameters by the gateway, not here. */
    arguments: z.unknown().optional(),
  },
  { error: 'Invalid request body: expected {"name": ..., "arguments": {...}}' },
);
export type ToolCallRequest = z.input<typeof ToolCallRequest>;

/**
 * Idempotent tool calls (ours; docs/gateway.md, "Idempotent calls"). A client names a call with a key; a
 * repeat with the same key gets the first call's envelope and publishes nothing. REST takes the key in a
 * header (the IETF httpapi draft's name), MCP in the call's `params._meta`, under a reverse-DNS prefix as
 * MCP 2025-11-25 asks of `_meta` keys.
 */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
export const IDEMPOTENCY_META_KEY = 'sh.asya/idempotency-key';
/** Set (`true`) on the answer to a repeat: the envelope is the first call's, nothing was published. */
export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';
export const IDEMPOTENT_REPLAYED_META_KEY = 'sh.asya/idempotent-replayed';
/** The `code` of the 409 for a key used before with another tool or other arguments. */
export const IDEMPOTENCY_KEY_CONFLICT = 'idempotency_key_conflict';
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;

/** Why a key is refused (`what` names where it came from), or undefined: 1 to 255 visible ASCII characters. */
export function idempotencyKeyProblem(key: unknown, what: string): string | undefined {
  if (typeof key !== 'string') return `Invalid ${what}: must be a string`;
  if (key === '') return `Invalid ${what}: empty`;
  if (key.length > IDEMPOTENCY_KEY_MAX_LENGTH) return `Invalid ${what}: ${key.length} characters, at most ${IDEMPOTENCY_KEY_MAX_LENGTH}`;
  const bad = /[^\x21-\x7e]/.exec(key);
  if (bad) {
    return `Invalid ${what}: ${JSON.stringify(bad[0])} at position ${bad.index + 1} is not allowed (visible ASCII only: letters, digits and punctuation, no spaces)`;
  }
  return undefined;
}

/** POST /envelopes/{id}/progress, sent by sidecars (internal token). An empty `actors` means the stored route. */
export const ProgressRequest = z.object(
  {
    status: z.enum(ACTOR_STATES, { error: `Invalid status: must be one of ${ACTOR_STATES.join(', ')}` }).nullish(),
    current_actor_idx: optionalIndex,
    actors: actorNames.nullish(),
    message: optionalString,
    /** Ours: how long the actor's handler took. Informational; the gateway does not store it. */
    duration_ms: z.unknown().optional(),
  },
  { error: BODY_NOT_OBJECT },
);
export type ProgressRequest = z.input<typeof ProgressRequest>;

/**
 * POST /progress (ours, not the original's): progress reports about several envelopes in one request, each
 * what POST /envelopes/{id}/progress takes plus its `id`. Items are read one by one, so a bad one is refused
 * alone. A sidecar that gets 404 or 405 for it (a gateway without it) posts each report on its own.
 */
export const PROGRESS_BATCH_PATH = '/progress';
export const PROGRESS_BATCH_MAX_REPORTS = 256;
export const ProgressBatchRequest = z.object(
  {
    reports: z
      .array(z.unknown(), { error: 'Invalid reports: must be a list of progress reports' })
      .min(1, { error: 'Invalid reports: empty' })
      .max(PROGRESS_BATCH_MAX_REPORTS, { error: `Invalid reports: at most ${PROGRESS_BATCH_MAX_REPORTS} in one request` }),
  },
  { error: BODY_NOT_OBJECT },
);

/**
 * The answer to POST /progress, 200 whenever the batch itself was readable: the reports not listed were taken
 * (or ignored: their envelope is final). `retry`: not taken now (the envelope is not known yet, or the
 * database is away), worth sending again; `refused`: never (the item is malformed), with the reason.
 */
export const ProgressBatchAnswer = z.object({
  retry: z.array(z.number().int().nonnegative()),
  refused: z.array(z.object({ index: z.number().int().nonnegative(), error: z.string() })),
});
export type ProgressBatchAnswer = z.infer<typeof ProgressBatchAnswer>;

const finalCommon = {
  id: z.unknown().optional(),
  timestamp: z.unknown().optional(),
  progress: z.unknown().optional(),
  result: json.optional(),
  metadata: optionalObject,
};

/**
 * POST /envelopes/{id}/final, sent by end actors (happy-end, error-end). A failure may name where it
 * happened; the gateway reads those fields only for `failed`, as the original did.
 */
export const FinalRequest = z.discriminatedUnion(
  'status',
  [
    z.object({ ...finalCommon, status: z.literal('succeeded') }),
    z.object({
      ...finalCommon,
      status: z.literal('failed'),
      error: optionalString,
      current_actor_name: optionalString,
      current_actor_idx: optionalIndex,
      actors: actorNames.nullish(),
      error_details: json.optional(),
    }),
  ],
  { error: (issue) => (isObject(issue.input) ? "Invalid status: must be 'succeeded' or 'failed'" : BODY_NOT_OBJECT) },
);
export type FinalRequest = z.input<typeof FinalRequest>;

const MISSING_ID = 'Missing required field: id';
const MISSING_ACTORS = 'Missing required field: actors';

/**
 * POST /envelopes: a fan-out child registered by its parent's sidecar (`parent_id`), or an envelope with no
 * parent. Old sidecars send no `index`; the gateway reads it from the `<parent>-<index>` id.
 */
export const ChildRequest = z.object(
  {
    id: z.string({ error: MISSING_ID }).min(1, { error: MISSING_ID }),
    actors: z
      .array(actorName, { error: (issue) => (issue.input === undefined || issue.input === null ? MISSING_ACTORS : NOT_ACTOR_NAMES(issue)) })
      .min(1, { error: MISSING_ACTORS }),
    parent_id: optionalString,
    current: optionalIndex,
    index: optionalIndex,
    count: optionalIndex,
    headers: optionalObject,
    payload: json.optional(),
  },
  { error: BODY_NOT_OBJECT },
);
export type ChildRequest = z.input<typeof ChildRequest>;

/** POST /envelopes/{id}/replay (ours, internal token): both fields optional, an empty body is fine. */
export const ReplayRequest = z.object({ reason: optionalString, timeout_seconds: optionalIndex }, { error: BODY_NOT_OBJECT });
export type ReplayRequest = z.input<typeof ReplayRequest>;

/** POST /envelopes/{id}/cancel (ours, client token): an optional reason; an empty body is fine. */
export const CancelRequest = z.object({ reason: z.string({ error: NOT_A_STRING }).optional() }, { error: BODY_NOT_OBJECT });
export type CancelRequest = z.input<typeof CancelRequest>;

const timestampParam = (name: string) =>
  z
    .string()
    .refine((raw) => raw === '' || !Number.isNaN(new Date(raw).getTime()), { error: `Invalid ${name}: expected an RFC 3339 timestamp` })
    .optional();

/**
 * GET /envelopes (ours): the query. `status` may list several (`running,pending`); `roots=true` (or 1) leaves
 * fan-out children out; `limit` is 1 to 500 (default 50); `cursor` is a previous page's `next_cursor`.
 */
export const ListQuery = z.object({
  status: z.string().optional(),
  tool: z.string().optional(),
  parent_id: z.string().optional(),
  roots: z.string().optional(),
  created_from: timestampParam('created_from'),
  created_to: timestampParam('created_to'),
  limit: z
    .string()
    .refine((raw) => /^\d+$/.test(raw) && Number(raw) >= 1 && Number(raw) <= 500, { error: 'Invalid limit: expected 1 to 500' })
    .optional(),
  cursor: z.string().optional(),
  /** Envelopes whose id starts with this (the console's search box). */
  id: z.string().max(200, { error: 'Invalid id: at most 200 characters' }).optional(),
});
export type ListQuery = z.input<typeof ListQuery>;

// ---------------------------------------------------------------------------------------------------------
// Answers

/** One envelope (GET /envelopes/{id}, and the answer to cancel and replay). */
export const EnvelopeView = z.object({
  id: z.string(),
  parent_id: z.string().optional(),
  status: z.enum(ENVELOPE_STATUSES),
  route: z.object({ actors: z.array(z.string()), current: z.number(), metadata: jsonObject.optional() }),
  headers: jsonObject.optional(),
  payload: json,
  result: json.optional(),
  error: z.string().optional(),
  timeout_seconds: z.number().optional(),
  /** RFC 3339; Go's zero time (NO_DEADLINE) when there is none, as the original wrote it. */
  deadline: z.string(),
  progress_percent: z.number(),
  current_actor_idx: z.number(),
  current_actor_name: z.string().optional(),
  message: z.string().optional(),
  // Ours from here on: the original had none of these.
  actors_completed: z.number(),
  total_actors: z.number(),
  created_at: z.string(),
  updated_at: z.string(),
  tool_name: z.string().optional(),
  owner: z.string().optional(),
  /** The key of the idempotent call that created it. */
  idempotency_key: z.string().optional(),
  cancelled: z.literal(true).optional(),
  fanout_index: z.number().optional(),
  /** The result is offloaded and larger than the gateway resolves: `result` is its reference, and this path streams it. */
  result_url: z.string().optional(),
});
export type EnvelopeView = z.infer<typeof EnvelopeView>;

/** Go's zero time, which the original wrote for "no deadline". */
export const NO_DEADLINE = '0001-01-01T00:00:00Z';

/** GET /envelopes (ours): a page, newest first; `next_cursor` when there is more. */
export const EnvelopeList = z.object({ envelopes: z.array(EnvelopeView), next_cursor: z.string().optional() });
export type EnvelopeList = z.infer<typeof EnvelopeList>;

/** GET /envelopes/{id}/active: 200 while it runs, 410 once final or past its deadline. */
export const ActiveAnswer = z.object({ active: z.boolean() });
export type ActiveAnswer = z.infer<typeof ActiveAnswer>;

/** One update of GET /envelopes/{id}/stream (`event: update`, the event's sequence number as its id). */
export const EnvelopeUpdate = z.object({
  id: z.string(),
  status: z.enum(ENVELOPE_STATUSES),
  message: z.string().optional(),
  result: json.optional(),
  error: z.string().optional(),
  progress_percent: z.number().optional(),
  actor: z.string().optional(),
  actors: z.array(z.string()).optional(),
  current_actor_idx: z.number().optional(),
  envelope_state: z.enum(EVENT_STATES).optional(),
  /** A report from a step behind the progress already reached (history, not progress). */
  late: z.literal(true).optional(),
  timestamp: z.string(),
});
export type EnvelopeUpdate = z.infer<typeof EnvelopeUpdate>;
/** The SSE event name of every update. */
export const UPDATE_EVENT = 'update';

/** The answer to a progress report. `ignored`: the envelope is already final. */
export const ProgressAnswer = z.object({ status: z.enum(['ok', 'ignored']), reason: z.string().optional(), progress_percent: z.number() });
export type ProgressAnswer = z.infer<typeof ProgressAnswer>;

/** The answer to a final report; `waiting_for_children`: a fan-out parent ends with its children. */
export const FinalAnswer = z.object({ status: z.enum(['ok', 'ignored']), reason: z.string().optional(), waiting_for_children: z.literal(true).optional() });
export type FinalAnswer = z.infer<typeof FinalAnswer>;

/** The answer to POST /envelopes: 201 created, or 200 exists (a registration sent twice). */
export const ChildAnswer = z.object({ status: z.enum(['created', 'exists']), id: z.string() });
export type ChildAnswer = z.infer<typeof ChildAnswer>;

/** GET /ready. */
export const ReadyAnswer = z.union([z.object({ status: z.literal('ready') }), z.object({ status: z.literal('not ready'), error: z.string() })]);
export type ReadyAnswer = z.infer<typeof ReadyAnswer>;

/** The code of a final report too large to read; the gateway ends its envelope failed with it. */
export const RESULT_TOO_LARGE = 'result_too_large';

/**
 * Every error answer (ours: the original answered plain text). The messages keep the original's words where
 * it had them. Some refusals say more: the envelope as it stands (409), whether it is active (404 of
 * /active), or, for a final report too large to read, the status the gateway gave its envelope instead.
 */
export const ErrorAnswer = z.object({
  error: z.string(),
  code: z.string().optional(),
  envelope_status: z.enum(ENVELOPE_STATUSES).optional(),
  envelope: EnvelopeView.optional(),
  active: z.boolean().optional(),
});
export type ErrorAnswer = z.infer<typeof ErrorAnswer>;
export type ErrorExtras = Omit<ErrorAnswer, 'error'>;

/** The JSON in the text of a tool call's answer: the envelope was created (keys in Go's sorted order). */
export const CreatedBody = z.object({
  envelope_id: z.string(),
  message: z.string(),
  metadata: jsonObject.optional(),
  status_url: z.string(),
  /** Only for tools configured with progress. */
  stream_url: z.string().optional(),
});
export type CreatedBody = z.infer<typeof CreatedBody>;

/** The structured answer of a call that waited for the pipeline (MCP with progress, and tasks/result). */
export const FinalBody = z.object({
  envelope_id: z.string(),
  status: z.enum(FINAL_STATUSES),
  result: json.optional(),
  error: z.string().optional(),
  /** What the failure stored beside its error (the failing actor, the handler's exception). */
  details: json.optional(),
  /** As in EnvelopeView: the offloaded result's download path when `result` is its reference. */
  result_url: z.string().optional(),
});
export type FinalBody = z.infer<typeof FinalBody>;

/** The MCP CallToolResult, as both POST /tools/call and MCP tools/call answer it. */
export const ToolResult = z.object({
  content: z.array(z.object({ type: z.literal('text'), text: z.string() })),
  /** Only on the answer of a call that waited. */
  structuredContent: FinalBody.optional(),
  isError: z.boolean().optional(),
});
export type ToolResult = z.infer<typeof ToolResult>;
