/**
 * One tool call, the same for POST /tools/call and MCP tools/call (docs/gateway.md, "HTTP API"): check the arguments,
 * record the envelope with its outbox entry, publish it to the first actor, and answer in the original's
 * shape.
 *
 * Unlike the original, the answer waits for the broker's confirmation: a client that got an envelope id
 * knows the envelope is queued, and a refused publish marks the envelope failed and says so in the answer
 * instead of failing later in a goroutine. A publish the broker did not confirm (unreachable, blocked past
 * the transport's timeout, gateway shutting down) is not a refusal: the envelope is saved, the outbox
 * publishes it later (outbox.ts), and the call is answered as created. The envelope stays `pending` until
 * an actor reports it has it.
 */
import { randomUUID } from 'node:crypto';
import type { JsonObject, JsonValue } from '../protocol/json.ts';
import type { Logger } from '../protocol/log.ts';
import type { Transport } from '../transport/transport.ts';
import type { AppOptions } from './deps.ts';
import { DEFAULT_OUTBOX_LEASE_MS, publishSaved } from './outbox.ts';
import type { EnvelopeRecord, EnvelopeStore } from './store/index.ts';
import { checkArguments, type Tool } from './tools/index.ts';

/** The CallToolResult wire form, as both REST and MCP send it. */
export interface ToolResult {
  [key: string]: unknown;
  content: Array<{ type: 'text'; text: string }>;
  structuredContent?: JsonObject;
  isError?: boolean;
}

export type ToolCallOutcome =
  | { kind: 'created'; envelope: EnvelopeRecord }
  | { kind: 'invalid'; errors: string[] }
  | { kind: 'publish_failed'; id: string; error: string };

export interface ToolCallDeps {
  store: EnvelopeStore;
  transport: Transport;
  log: Logger;
  now?: () => Date;
  options?: Pick<AppOptions, 'outboxLeaseMs'>;
}

/** Trace context travels in envelope headers (docs/gateway.md, "HTTP API"), so a pipeline joins the caller's trace. */
const TRACE_HEADERS = ['traceparent', 'tracestate', 'baggage'] as const;

export function traceHeaders(get: (name: string) => string | undefined): JsonObject | undefined {
  const headers: JsonObject = {};
  for (const name of TRACE_HEADERS) {
    const value = get(name);
    if (value) headers[name] = value;
  }
  return Object.keys(headers).length > 0 ? headers : undefined;
}

export async function callTool(
  deps: ToolCallDeps,
  tool: Tool,
  rawArguments: unknown,
  headers?: JsonObject,
  /** The named client making the call; it alone (and admins) will see the envelope. */
  owner?: string,
): Promise<ToolCallOutcome> {
  const checked = checkArguments(tool.parameters, rawArguments);
  if (!checked.ok) return { kind: 'invalid', errors: checked.errors };
  const id = randomUUID();
  const now = deps.now?.() ?? new Date();
  // Whole seconds, rounded up, as the original's RFC 3339 deadline: never earlier than promised.
  const deadline = tool.timeoutSeconds > 0 ? new Date(Math.ceil(now.getTime() / 1000) * 1000 + tool.timeoutSeconds * 1000) : undefined;
  const envelope = await deps.store.create({
    id,
    actors: tool.actors,
    payload: checked.value,
    toolName: tool.name,
    ...(owner ? { owner } : {}),
    routeMetadata: { job_id: id },
    ...(headers ? { headers } : {}),
    ...(tool.timeoutSeconds > 0 ? { timeoutSeconds: tool.timeoutSeconds, deadline } : {}),
    outbox: { leaseMs: deps.options?.outboxLeaseMs ?? DEFAULT_OUTBOX_LEASE_MS },
  });
  const published = await publishSaved(deps, envelope);
  if (published.kind === 'refused') return { kind: 'publish_failed', id, error: published.error };
  return { kind: 'created', envelope };
}

function text(value: JsonValue | string): ToolResult['content'] {
  return [{ type: 'text', text: typeof value === 'string' ? value : JSON.stringify(value) }];
}

/** The original's answer: compact JSON, keys in Go's sorted order; stream_url only for progress tools. */
export function createdResult(tool: Tool, id: string): ToolResult {
  const body: JsonObject = {
    envelope_id: id,
    message: 'Envelope created successfully',
    ...(tool.metadata ? { metadata: tool.metadata } : {}),
    status_url: `/envelopes/${encodeURIComponent(id)}`,
    ...(tool.progress ? { stream_url: `/envelopes/${encodeURIComponent(id)}/stream` } : {}),
  };
  return { content: text(body) };
}

export function outcomeResult(tool: Tool, outcome: ToolCallOutcome): ToolResult {
  if (outcome.kind === 'created') return createdResult(tool, outcome.envelope.id);
  if (outcome.kind === 'invalid') return { content: text(outcome.errors.join('; ')), isError: true };
  return { content: text(`${outcome.error} (envelope ${outcome.id})`), isError: true };
}

/** What a caller that waited gets: the pipeline's result, or why it failed. */
export function finalResult(envelope: EnvelopeRecord): ToolResult {
  const body: JsonObject = {
    envelope_id: envelope.id,
    status: envelope.status,
    ...(envelope.status === 'succeeded' ? { result: envelope.result } : { error: envelope.error ?? 'failed' }),
    ...(envelope.status === 'failed' && envelope.result !== null ? { details: envelope.result } : {}),
  };
  return { content: text(body), structuredContent: body, ...(envelope.status === 'succeeded' ? {} : { isError: true }) };
}
