/**
 * What a tool call answers, the same over REST and MCP (protocol/gateway-contract.ts): the original's
 * "envelope created" text, the reason a call was refused, or, for a caller that waited, the pipeline's result.
 */
import type { JsonValue } from '../../protocol/json.ts';
import type { CreatedBody, FinalBody, ToolResult } from '../../protocol/gateway-contract.ts';
import type { FinalRecord } from './wait-final.ts';
import type { Tool } from '../tools/index.ts';
import type { ToolCallOutcome } from './tool-call.ts';
import { PUBLISH_REFUSED } from '../outbox.ts';
import type { EnvelopeRecord } from '../store/index.ts';
import { viewForClient, type GatewayPayloads } from './payloads.ts';

export type { ToolResult };

function text(value: CreatedBody | FinalBody | string): ToolResult['content'] {
  return [{ type: 'text', text: typeof value === 'string' ? value : JSON.stringify(value) }];
}

/** The original's answer: compact JSON, keys in Go's sorted order; stream_url only for progress tools. */
export function createdResult(tool: Tool, id: string): ToolResult {
  const body: CreatedBody = {
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
  if (outcome.kind === 'repeated') return repeatedResult(tool, outcome.envelope);
  if (outcome.kind === 'key_conflict') return { content: text(keyConflictText(tool, outcome)), isError: true };
  if (outcome.kind === 'invalid') return { content: text(outcome.errors.join('; ')), isError: true };
  return publishFailedResult(outcome.id, outcome.error);
}

function publishFailedResult(id: string, error: string): ToolResult {
  return { content: text(`${error} (envelope ${id})`), isError: true };
}

/** A repeat answers as the first call did: created, or refused by the broker (the envelope failed so). */
function repeatedResult(tool: Tool, envelope: EnvelopeRecord): ToolResult {
  const refused = envelope.status === 'failed' && !envelope.cancelled && envelope.error?.startsWith(`${PUBLISH_REFUSED}:`);
  return refused ? publishFailedResult(envelope.id, envelope.error ?? PUBLISH_REFUSED) : createdResult(tool, envelope.id);
}

/** Why a key was refused: it names the first call's envelope, which the caller may read (same owner). */
export function keyConflictText(tool: Tool, { key, envelope }: { key: string; envelope: EnvelopeRecord }): string {
  const what = envelope.toolName === tool.name ? `a call of ${tool.name} with other arguments` : `a call of ${envelope.toolName ?? 'another tool'}`;
  return `Idempotency key ${JSON.stringify(key)} was already used for ${what} (envelope ${envelope.id}); `
    + 'a repeat must send the same tool and arguments, and a new call needs a new key';
}

/** What a caller that waited gets: the pipeline's result (resolved when it was offloaded), or why it failed. */
export async function finalResult(envelope: FinalRecord, payloads?: GatewayPayloads): Promise<ToolResult> {
  const succeeded = envelope.status === 'succeeded' ? await viewForClient(payloads, { id: envelope.id, result: envelope.result } as { id: string; result: JsonValue; result_url?: string }) : undefined;
  const body: FinalBody = {
    envelope_id: envelope.id,
    status: envelope.status,
    ...(succeeded ? { result: succeeded.result, ...(succeeded.result_url ? { result_url: succeeded.result_url } : {}) } : { error: envelope.error ?? 'failed' }),
    ...(envelope.status === 'failed' && envelope.result !== null ? { details: envelope.result } : {}),
  };
  return { content: text(body), structuredContent: body, ...(envelope.status === 'succeeded' ? {} : { isError: true }) };
}
