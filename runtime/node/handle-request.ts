/**
 * One request → one response, with the original runtime's rules (docs/runtimes.md). Pure apart from
 * calling the handler, so the conformance suite and the server share it.
 */
// Modules, not the protocol barrel: a runtime starts faster without the schemas (zod) only other components use.
import { EnvelopeValidationError, jsonTypeName, validateEnvelope, validateOutputEnvelope } from '../../protocol/envelope.ts';
import { assertSerialisable, isPlainObject } from '../../protocol/json.ts';
import { errorResponse, type RuntimeResult } from '../../protocol/runtime-response.ts';
import type { HandlerMode } from './config.ts';
import type { Handler } from './load-handler.ts';
import { isPause, pausedOutput } from './pause.ts';
import { errorText } from '../../protocol/errors.ts';

/** Error classes named like Python's, so both runtimes report the same `details.type`. */
class NamedError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeRequest(body: Buffer): Record<string, unknown> {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new NamedError('UnicodeDecodeError', "'utf-8' codec can't decode the request: invalid UTF-8");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    const detail = text.length === 0 ? 'Expecting value: empty request' : errorText(err);
    throw new NamedError('JSONDecodeError', detail);
  }
  if (!isPlainObject(parsed)) {
    throw new EnvelopeValidationError(`Envelope must be a JSON object, got ${jsonTypeName(parsed)}`);
  }
  return parsed;
}

function toList(result: unknown): unknown[] {
  if (result === null || result === undefined) return [];
  return Array.isArray(result) ? result : [result];
}

function field(envelope: Record<string, unknown>, key: string): unknown {
  if (!(key in envelope)) throw new NamedError('KeyError', `'${key}'`);
  return envelope[key];
}

export interface RequestOptions {
  handler: Handler;
  mode: HandlerMode;
  validate: boolean;
  /** Called with the request's envelope once it is read, before the handler runs (the server's log lines name it). */
  seen?: (envelope: Record<string, unknown>) => void;
}

export async function handleRequest(body: Buffer, options: RequestOptions): Promise<RuntimeResult[]> {
  let envelope: Record<string, unknown>;
  try {
    envelope = decodeRequest(body);
    options.seen?.(envelope);
    if (options.validate) envelope = validateEnvelope(envelope);
  } catch (err) {
    return errorResponse('msg_parsing_error', err);
  }
  let outputs: unknown[];
  try {
    outputs = options.mode === 'payload' ? await runPayloadMode(envelope, options) : await runEnvelopeMode(envelope, options);
    assertSerialisable(outputs, 'result');
  } catch (err) {
    return errorResponse('processing_error', err);
  }
  return outputs as RuntimeResult[];
}

async function runPayloadMode(envelope: Record<string, unknown>, { handler }: RequestOptions): Promise<unknown[]> {
  const results = toList(await handler(field(envelope, 'payload')));
  const route = field(envelope, 'route') as Record<string, unknown>;
  const nextRoute = { ...route, current: Number(route.current ?? 0) + 1 };
  const hasHeaders = 'headers' in envelope;
  return results.map((payload) => {
    if (isPause(payload)) return pausedOutput(payload, nextRoute, envelope.headers);
    const output: Record<string, unknown> = { payload, route: nextRoute };
    if (hasHeaders) output.headers = envelope.headers;
    return output;
  });
}

async function runEnvelopeMode(envelope: Record<string, unknown>, { handler, validate }: RequestOptions): Promise<unknown[]> {
  const results = toList(await handler(envelope));
  if (!validate) return results;
  const input = envelope as { route: { actors: unknown[]; current: unknown } };
  return results.map((output, i) => {
    try {
      return validateOutputEnvelope(output, input);
    } catch (err) {
      throw new NamedError('ValueError', `Invalid output envelope[${i}/${results.length}]: ${errorText(err)}`);
    }
  });
}
