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
 * an actor reports it has it. The answer's shape is results.ts's.
 *
 * A call with an idempotency key creates its envelope only if no envelope of the same owner holds that
 * key (the store decides, across replicas). A repeat of the same request answers the first call's envelope
 * and publishes nothing: that envelope has its own outbox entry, so it is published at least once
 * whichever call's publish is answered first. The same key with another tool or other arguments is a
 * conflict, and creates nothing either.
 */
import { randomUUID } from 'node:crypto';
import type { JsonObject } from '../../protocol/json.ts';
import type { Logger } from '../../protocol/log.ts';
import { envelopeLogFields } from '../../protocol/trace-context.ts';
import type { Transport } from '../../transport/transport.ts';
import type { AppOptions } from '../deps.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { DEFAULT_OUTBOX_LEASE_MS, publishSaved } from '../outbox.ts';
import type { CreateEnvelopeInput, EnvelopeRecord, EnvelopeStore } from '../store/index.ts';
import { requestHash } from './idempotency.ts';
import { checkArguments, type Tool } from '../tools/index.ts';
import { payloadForEnvelope, PayloadRefusedError, type GatewayPayloads } from './payloads.ts';
import { traceToolCall } from '../tracing.ts';

export type ToolCallOutcome =
  | { kind: 'created'; envelope: EnvelopeRecord }
  /** Its idempotency key named an envelope created by an earlier call with the same request. */
  | { kind: 'repeated'; envelope: EnvelopeRecord }
  /** Its idempotency key names an envelope created for another tool or other arguments. */
  | { kind: 'key_conflict'; key: string; envelope: EnvelopeRecord }
  | { kind: 'invalid'; errors: string[] }
  | { kind: 'publish_failed'; id: string; error: string };

export interface ToolCallDeps {
  store: EnvelopeStore;
  transport: Transport;
  log: Logger;
  metrics: Pick<GatewayMetrics, 'toolCalls' | 'publishFailures'>;
  now?: () => Date;
  options?: Pick<AppOptions, 'outboxLeaseMs'>;
  payloads?: GatewayPayloads | undefined;
}

/** Who asked: counted per surface, and carried into the envelope. */
export interface ToolCaller {
  via: 'rest' | 'mcp';
  /** Trace context from the request (traceHeaders). */
  headers?: JsonObject | undefined;
  /** The named client making the call; it alone (and admins) will see the envelope. */
  owner?: string | undefined;
  /** Already checked (idempotencyKeyProblem); keys are per owner. */
  idempotencyKey?: string | undefined;
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

export async function callTool(deps: ToolCallDeps, tool: Tool, rawArguments: unknown, caller: ToolCaller): Promise<ToolCallOutcome> {
  const outcome = await traceToolCall(tool.name, caller.via, caller.headers, (headers) => createAndPublish(deps, tool, rawArguments, { ...caller, headers }));
  deps.metrics.toolCalls.labels({ tool: tool.name, via: caller.via, outcome: outcome.kind }).inc();
  if (outcome.kind === 'publish_failed') deps.metrics.publishFailures.inc();
  return outcome;
}

async function createAndPublish(deps: ToolCallDeps, tool: Tool, rawArguments: unknown, { headers, owner, idempotencyKey }: ToolCaller): Promise<ToolCallOutcome> {
  const checked = checkArguments(tool.parameters, rawArguments);
  if (!checked.ok) return { kind: 'invalid', errors: checked.errors };
  const id = randomUUID();
  let payload;
  try {
    payload = await payloadForEnvelope(deps.payloads, id, checked.value);
  } catch (err) {
    if (err instanceof PayloadRefusedError) return { kind: 'invalid', errors: [err.message] };
    throw err;
  }
  const now = deps.now?.() ?? new Date();
  // Whole seconds, rounded up, as the original's RFC 3339 deadline: never earlier than promised.
  const deadline = tool.timeoutSeconds > 0 ? new Date(Math.ceil(now.getTime() / 1000) * 1000 + tool.timeoutSeconds * 1000) : undefined;
  const input: CreateEnvelopeInput = {
    id,
    actors: tool.actors,
    payload,
    toolName: tool.name,
    ...(owner ? { owner } : {}),
    routeMetadata: { job_id: id },
    ...(headers ? { headers } : {}),
    ...(tool.timeoutSeconds > 0 ? { timeoutSeconds: tool.timeoutSeconds, deadline } : {}),
    outbox: { leaseMs: deps.options?.outboxLeaseMs ?? DEFAULT_OUTBOX_LEASE_MS },
  };
  let envelope: EnvelopeRecord;
  if (idempotencyKey === undefined) envelope = await deps.store.create(input);
  else {
    const hash = requestHash(tool.name, checked.value);
    const once = await deps.store.createOnce(input, { key: idempotencyKey, requestHash: hash });
    if (once.outcome === 'existing') {
      return once.requestHash === hash
        ? { kind: 'repeated', envelope: once.envelope }
        : { kind: 'key_conflict', key: idempotencyKey, envelope: once.envelope };
    }
    envelope = once.envelope;
  }
  const published = await publishSaved(deps, envelope);
  const about = envelopeLogFields({ id, headers });
  if (published.kind === 'refused') return { kind: 'publish_failed', id, error: published.error };
  deps.log.debug(() => `${tool.name}: envelope created and published to ${tool.actors[0] ?? 'nobody'}`, about);
  return { kind: 'created', envelope };
}
