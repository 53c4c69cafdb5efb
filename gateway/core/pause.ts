/**
 * Pause and resume, the same for REST, `asya resume` and MCP elicitation (docs/gateway.md, "Pause and
 * resume"). A pause is checked before it is stored: its schema must compile and its default must satisfy it,
 * so a resume never meets a broken schema. A resume's input is checked against the schema before the store
 * is asked, the store changes the status and writes the message to publish in one transaction, and the
 * message is published at once; when that does not happen (the broker is away, the gateway dies) the relay
 * publishes it once its lease runs out (relayResumes), like the tool call's outbox.
 */
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { JsonSchemaType, JsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/types.js';
import { errorText } from '../../protocol/errors.ts';
import type { JsonObject, JsonValue } from '../../protocol/json.ts';
import type { Logger } from '../../protocol/log.ts';
import { DEFAULT_INPUT_KEY, type PauseRequest } from '../../protocol/pause.ts';
import { TransportError, type Transport } from '../../transport/transport.ts';
import { DEFAULT_OUTBOX_LEASE_MS, DEFAULT_PAUSE_MAX_MS } from '../settings.ts';
import type { EnvelopeRecord, EnvelopeStore, PauseResult, ResumedMessage } from '../store/index.ts';

const AJV = new AjvJsonSchemaValidator();
/** Compiled schemas by their text: a pipeline pauses with few distinct schemas, and compiling is costly. */
const COMPILED = new Map<string, JsonSchemaValidator<unknown>>();
const MAX_COMPILED = 200;

/** The schema's validator; throws with the compiler's reason when the schema is not one. */
export function answerValidator(schema: JsonObject): JsonSchemaValidator<unknown> {
  const key = JSON.stringify(schema);
  let validator = COMPILED.get(key);
  if (!validator) {
    validator = AJV.getValidator<unknown>(schema as JsonSchemaType);
    if (COMPILED.size >= MAX_COMPILED) COMPILED.delete(COMPILED.keys().next().value as string);
    COMPILED.set(key, validator);
  }
  return validator;
}

/** Why `input` does not satisfy `schema`, or undefined when it does (or there is no schema). */
export function inputProblem(schema: JsonObject | null | undefined, input: JsonValue): string | undefined {
  if (!schema) return undefined;
  const result = answerValidator(schema)(input);
  return result.valid ? undefined : (result.errorMessage ?? 'input does not match the schema');
}

export type PauseOutcome = PauseResult | { outcome: 'invalid'; error: string };

/**
 * The timeout a pause is stored with: the handler's, capped at the gateway's longest pause, so that no pause
 * keeps its envelope open forever unless the operator chose that (`ASYA_GATEWAY_PAUSE_MAX=0`).
 */
export function pauseTimeoutSeconds(requested: number | null | undefined, maxMs: number): number | undefined {
  const max = maxMs > 0 ? maxMs / 1000 : undefined;
  if (!requested) return max;
  return max === undefined ? requested : Math.min(requested, max);
}

export async function acceptPause(
  store: EnvelopeStore,
  id: string,
  request: PauseRequest & { input_key?: string | null },
  maxMs: number = DEFAULT_PAUSE_MAX_MS,
): Promise<PauseOutcome> {
  const schema = request.schema ?? undefined;
  if (schema) {
    try {
      answerValidator(schema);
    } catch (err) {
      return { outcome: 'invalid', error: `pause schema is not a valid JSON Schema: ${errorText(err)}` };
    }
  }
  const hasDefault = request.default !== undefined;
  if (hasDefault) {
    const problem = inputProblem(schema, request.default as JsonValue);
    if (problem) return { outcome: 'invalid', error: `pause default does not match its schema: ${problem}` };
  }
  const timeoutSeconds = pauseTimeoutSeconds(request.timeout_seconds, maxMs);
  return store.pause(id, {
    actor: request.actor,
    prompt: request.prompt,
    ...(schema ? { schema } : {}),
    ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
    ...(hasDefault ? { default: { value: request.default as JsonValue } } : {}),
    inputKey: request.input_key ?? DEFAULT_INPUT_KEY,
    queue: request.queue,
    message: request.envelope,
  });
}

export interface ResumeDeps {
  store: EnvelopeStore;
  transport: Transport;
  log: Logger;
  options?: { outboxLeaseMs?: number | undefined };
}

export type ResumeOutcome =
  | { outcome: 'resumed'; envelope: EnvelopeRecord; published: boolean }
  /** The input does not satisfy the pause's schema; the envelope stays paused. */
  | { outcome: 'invalid'; envelope: EnvelopeRecord; error: string }
  /** Not paused (never, or resumed already, or final). */
  | { outcome: 'refused'; envelope: EnvelopeRecord; reason: string }
  | { outcome: 'not_found' };

export async function resumeEnvelope(deps: ResumeDeps, envelope: EnvelopeRecord, input: JsonValue, via: string): Promise<ResumeOutcome> {
  if (envelope.status !== 'paused') return { outcome: 'refused', envelope, reason: `envelope is ${envelope.status}, not paused` };
  const pause = await deps.store.getPause(envelope.id);
  const problem = inputProblem(pause?.schema, input);
  if (problem) return { outcome: 'invalid', envelope, error: `resume input does not match the pause's schema: ${problem}` };
  const result = await deps.store.resume(envelope.id, { input, via, leaseMs: deps.options?.outboxLeaseMs ?? DEFAULT_OUTBOX_LEASE_MS });
  if (result.outcome === 'not_found') return { outcome: 'not_found' };
  if (result.outcome === 'refused') return { outcome: 'refused', envelope: result.envelope, reason: result.reason };
  const published = await publishResumed(deps, result.publish);
  // A refused publish failed the envelope meanwhile: answer what it is now.
  const envelopeNow = published ? result.envelope : ((await deps.store.get(envelope.id)) ?? result.envelope);
  return { outcome: 'resumed', envelope: envelopeNow, published };
}

/**
 * True once the broker confirmed; false leaves the message to the relay (its lease runs out). A refusal that
 * sending again would meet again (no such queue, too large) fails the envelope instead, as a tool call's does.
 */
export async function publishResumed(deps: ResumeDeps, resumed: ResumedMessage): Promise<boolean> {
  try {
    await deps.transport.publish(resumed.queue, Buffer.from(JSON.stringify(resumed.message)));
  } catch (err) {
    const away = err instanceof TransportError && (err.reason === 'unavailable' || err.reason === 'closed');
    if (away || !(err instanceof TransportError)) {
      deps.log.warn(`${resumed.envelopeId}: resumed, but not published yet; the relay will retry: ${errorText(err)}`);
      return false;
    }
    const error = `failed to send resumed envelope to ${resumed.queue}: ${errorText(err)}`;
    deps.log.error(`${resumed.envelopeId}: ${error}`);
    await deps.store.setFinal(resumed.envelopeId, { status: 'failed', error });
    await deps.store.markResumePublished(resumed.envelopeId);
    return false;
  }
  await deps.store.markResumePublished(resumed.envelopeId).catch((err: unknown) => {
    deps.log.warn(`${resumed.envelopeId}: published, but it will be published again: ${errorText(err)}`);
  });
  return true;
}

/** One relay pass over resumed messages whose publish lease ran out; answers how many were published. */
export async function relayResumes(deps: ResumeDeps, leaseMs: number, limit = 100): Promise<number> {
  const due = await deps.store.claimResumes(leaseMs, limit);
  const outcomes = await Promise.all(due.map((resumed) => publishResumed(deps, resumed)));
  return outcomes.filter(Boolean).length;
}
