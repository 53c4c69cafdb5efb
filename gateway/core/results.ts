/**
 * What a tool call answers, the same over REST and MCP (protocol/gateway-contract.ts): the original's
 * "envelope created" text, the reason a call was refused, or, for a caller that waited, the pipeline's result.
 */
import type { CreatedBody, FinalBody, ToolResult } from '../../protocol/gateway-contract.ts';
import type { FinalRecord } from './wait-final.ts';
import type { Tool } from '../tools/index.ts';
import type { ToolCallOutcome } from './tool-call.ts';

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
  if (outcome.kind === 'invalid') return { content: text(outcome.errors.join('; ')), isError: true };
  return { content: text(`${outcome.error} (envelope ${outcome.id})`), isError: true };
}

/** What a caller that waited gets: the pipeline's result, or why it failed. */
export function finalResult(envelope: FinalRecord): ToolResult {
  const body: FinalBody = {
    envelope_id: envelope.id,
    status: envelope.status,
    ...(envelope.status === 'succeeded' ? { result: envelope.result } : { error: envelope.error ?? 'failed' }),
    ...(envelope.status === 'failed' && envelope.result !== null ? { details: envelope.result } : {}),
  };
  return { content: text(body), structuredContent: body, ...(envelope.status === 'succeeded' ? {} : { isError: true }) };
}
