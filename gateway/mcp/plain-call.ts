/**
 * A plain tools/call, answered without the SDK's per-request server and web-standard transport.
 *
 * Plain: one message (not a batch), a request with an id, a JSON answer, nothing to wait for, and headers the
 * SDK's transport accepts. That is what most clients send most of the time, and on that path the SDK's
 * machinery (a Server, a transport, a Request, a Response, Headers, abort signals) cost more CPU than the
 * call itself (docs/performance.md, goal 5). Anything else goes through the SDK. The params were checked
 * with the SDK's own schema (params.ts) and the answer is built by the same function the SDK's handler calls
 * (startToolCall), so plain-call.test.ts can require both paths to give the same answer for every kind of call.
 */
import { isJsonContentType } from '@modelcontextprotocol/sdk/shared/mediaType.js';
import { ErrorCode, SUPPORTED_PROTOCOL_VERSIONS, type CallToolRequest } from '@modelcontextprotocol/sdk/types.js';
import { isPlainObject } from '../../protocol/json.ts';
import type { Caller } from '../core/caller.ts';
import type { GatewayDeps } from '../deps.ts';
import { startToolCall } from './server.ts';

type RpcId = string | number;
type PlainCall = { id: RpcId; params: CallToolRequest['params'] };

/**
 * The checked request when `body` is a plain tools/call (see above), else undefined. Whether the call waits is
 * the route's to say (`waits`): it decides from that whether to answer as a stream.
 */
export function plainToolCall(
  body: unknown,
  checked: unknown,
  waits: boolean,
  header: (name: string) => string | undefined,
): PlainCall | undefined {
  if (waits) return undefined;
  if (Array.isArray(body) || !isPlainObject(body) || body.method !== 'tools/call') return undefined;
  if (typeof body.id !== 'string' && typeof body.id !== 'number') return undefined;
  if (!isJsonContentType(header('content-type') ?? null)) return undefined;
  const version = header('mcp-protocol-version');
  if (version !== undefined && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) return undefined;
  return { id: body.id, params: (checked as CallToolRequest).params };
}

/** The JSON-RPC answer, shaped as the SDK shapes its own (result first; an error's code when it has one). */
export async function answerPlainToolCall(
  deps: GatewayDeps,
  call: PlainCall,
  header: (name: string) => string | undefined,
  caller: Caller | undefined,
): Promise<Record<string, unknown>> {
  try {
    const started = await startToolCall(deps, call.params, header, caller);
    // Not plain otherwise: plainToolCall sends calls that wait to the SDK.
    if (!('answer' in started)) throw new Error('a plain tools/call started a wait');
    return { result: started.answer, jsonrpc: '2.0', id: call.id };
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown; data?: unknown };
    const code = typeof e.code === 'number' && Number.isSafeInteger(e.code) ? e.code : ErrorCode.InternalError;
    const message = typeof e.message === 'string' ? e.message : 'Internal error';
    return { jsonrpc: '2.0', id: call.id, error: { code, message, ...(e.data !== undefined ? { data: e.data } : {}) } };
  }
}
