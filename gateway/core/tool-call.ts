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
 */
import { randomUUID } from 'node:crypto';
import type { JsonObject } from '../../protocol/json.ts';
import type { Logger } from '../../protocol/log.ts';
import type { Transport } from '../../transport/transport.ts';
import type { AppOptions } from '../deps.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { DEFAULT_OUTBOX_LEASE_MS, publishSaved } from '../outbox.ts';
import type { EnvelopeRecord, EnvelopeStore } from '../store/index.ts';
import { checkArguments, type Tool } from '../tools/index.ts';

export type ToolCallOutcome =
  | { kind: 'created'; envelope: EnvelopeRecord }
  | { kind: 'invalid'; errors: string[] }
  | { kind: 'publish_failed'; id: string; error: string };

export interface ToolCallDeps {
  store: EnvelopeStore;
  transport: Transport;
  log: Logger;
  metrics: Pick<GatewayMetrics, 'toolCalls' | 'publishFailures'>;
  now?: () => Date;
  options?: Pick<AppOptions, 'outboxLeaseMs'>;
}

/** Who asked: counted per surface, and carried into the envelope. */
export interface ToolCaller {
  via: 'rest' | 'mcp';
  /** Trace context from the request (traceHeaders). */
  headers?: JsonObject | undefined;
  /** The named client making the call; it alone (and admins) will see the envelope. */
  owner?: string | undefined;
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
  const outcome = await createAndPublish(deps, tool, rawArguments, caller);
  deps.metrics.toolCalls.inc({ tool: tool.name, via: caller.via, outcome: outcome.kind });
  if (outcome.kind === 'publish_failed') deps.metrics.publishFailures.inc();
  return outcome;
}

async function createAndPublish(deps: ToolCallDeps, tool: Tool, rawArguments: unknown, { headers, owner }: ToolCaller): Promise<ToolCallOutcome> {
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
