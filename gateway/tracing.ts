/**
 * The gateway's spans (docs/operations.md, "Tracing"): one per tool call, REST or MCP, continuing the
 * caller's traceparent when it sent one, and a producer span per publish to the first actor as its child.
 * The envelope is created with the tool call's span as its traceparent, so the publish (now or later by the
 * outbox relay, on any replica) and the first hop hang under the call. Nothing runs while tracing is off.
 */
import { SpanKind } from '@opentelemetry/api';
import type { JsonObject } from '../protocol/json.ts';
import { contextOfHeaders, failSpan, headersWithSpan, messagingAttributes, tracer, tracingOn } from '../telemetry/index.ts';

interface Outcome {
  kind: string;
  errors?: string[];
  error?: string;
  id?: string;
  envelope?: { id: string };
}

/** Runs one tool call inside its span; `work` gets the headers to store on the envelope. */
export async function traceToolCall<O extends Outcome>(
  tool: string,
  via: 'rest' | 'mcp',
  headers: JsonObject | undefined,
  work: (headers: JsonObject | undefined) => Promise<O>,
): Promise<O> {
  if (!tracingOn()) return work(headers);
  const span = tracer().startSpan(
    `tools/call ${tool}`,
    { kind: SpanKind.SERVER, attributes: { 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': tool, 'asya.tool': tool, 'asya.via': via } },
    contextOfHeaders(headers),
  );
  try {
    const outcome = await work(headersWithSpan(headers, span) as JsonObject);
    const id = outcome.envelope?.id ?? outcome.id;
    if (id) span.setAttribute('asya.envelope.id', id);
    if (outcome.kind === 'invalid') failSpan(span, 'invalid_arguments', (outcome.errors ?? []).join('; '));
    if (outcome.kind === 'publish_failed') failSpan(span, 'publish_failed', outcome.error ?? 'publish failed');
    return outcome;
  } catch (err) {
    failSpan(span, 'internal_error', err instanceof Error ? err.message : String(err));
    throw err;
  } finally {
    span.end();
  }
}

/** One publish of a saved envelope, as a child of the tool call its headers name. */
export async function tracePublish(facts: { transportKind: string; queue: string; envelopeId: string; headers: unknown }, publish: () => Promise<void>): Promise<void> {
  if (!tracingOn()) return publish();
  const span = tracer().startSpan(
    `send ${facts.queue}`,
    { kind: SpanKind.PRODUCER, attributes: messagingAttributes('send', { transportKind: facts.transportKind, queue: facts.queue, envelopeId: facts.envelopeId }) },
    contextOfHeaders(facts.headers),
  );
  try {
    await publish();
  } catch (err) {
    failSpan(span, 'publish_failed', err instanceof Error ? err.message : String(err));
    throw err;
  } finally {
    span.end();
  }
}
