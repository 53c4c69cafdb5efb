/**
 * /mcp over Streamable HTTP with the official SDK, one stateless SDK transport per request.
 *
 * Sessions: initialize mints `Mcp-Session-Id: mcp-session-<uuid>` (the original's format) and every later
 * request must carry one. A session holds no state on the server (tools come from the config, tasks from
 * the store), so any replica accepts any well-formed session id, as the original did. DELETE ends a session
 * on the replica that receives it (later requests with that id get 404 there). GET is 405: the gateway
 * sends nothing unprompted, and clients treat 405 as "no standalone stream".
 *
 * Responses are plain JSON, except for calls that wait (a progress tool with a progressToken, and
 * tasks/result), which answer as an SSE stream so notifications and keep-alives can flow. A plain
 * tools/call skips the SDK's transport (plain-call.ts) and answers the same.
 */
import { randomUUID } from 'node:crypto';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { Context } from 'hono';
import { isPlainObject } from '../../protocol/json.ts';
import type { GatewayDeps } from '../deps.ts';
import { bodyText } from '../http/request-body.ts';
import type { Routes } from '../http/routes.ts';
import { INVALID_PARAMS, checkParams } from './params.ts';
import { answerPlainToolCall, plainToolCall } from './plain-call.ts';
import { buildMcpServer, waitsForResult } from './server.ts';
import { isElicitationAnswer, takeElicitationAnswer } from './elicit.ts';

const SESSION_ID = /^mcp-session-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_TERMINATED = 10_000;

type RpcId = string | number | null;

function rpcError(c: Context, status: 400 | 404 | 405 | 406, id: RpcId, code: number, message: string) {
  return c.json({ jsonrpc: '2.0', id, error: { code, message } }, status);
}

function idOf(message: unknown): RpcId {
  const id = isPlainObject(message) ? message.id : undefined;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

/**
 * Sessions whose client declared elicitation at initialize, oldest forgotten first. Per replica: a waiting
 * call on a replica that did not see the session's initialize does not elicit (docs/gateway.md).
 */
class Bounded {
  private readonly ids = new Set<string>();
  add(id: string): void {
    this.ids.add(id);
    if (this.ids.size > MAX_TERMINATED) this.ids.delete(this.ids.values().next().value as string);
  }
  has(id: string): boolean {
    return this.ids.has(id);
  }
}

/** `notifications/cancelled` arrives in a request of its own; it finds the waiting call through this. */
const waitingKey = (session: string, id: RpcId) => `${session}\u0000${typeof id}:${String(id)}`;

function cancelledRequestIds(messages: unknown[]): RpcId[] {
  return messages.flatMap((m) => {
    if (!isPlainObject(m) || m.method !== 'notifications/cancelled' || !isPlainObject(m.params)) return [];
    const id = m.params.requestId;
    return typeof id === 'string' || typeof id === 'number' ? [id] : [];
  });
}

export function mcpRoutes(routes: Routes, deps: GatewayDeps): void {
  const ended = new Bounded();
  const eliciting = new Bounded();
  const waiting = new Map<string, () => void>();

  const checkSession = (c: Context, id: RpcId): Response | undefined => {
    const session = c.req.header('mcp-session-id');
    if (!session) return rpcError(c, 400, id, -32000, 'Bad Request: Mcp-Session-Id header is required (send initialize first)');
    if (!SESSION_ID.test(session) || ended.has(session)) return rpcError(c, 404, id, -32001, 'Session not found');
    return undefined;
  };

  routes.post('/mcp', 'client', async (c) => {
    const header = (name: string) => c.req.header(name);
    let body: unknown;
    try {
      body = JSON.parse(bodyText(c));
    } catch {
      return rpcError(c, 400, null, -32700, 'Parse error: Invalid JSON');
    }
    const messages = Array.isArray(body) ? body : [body];
    if (messages.length === 0) return rpcError(c, 400, null, -32600, 'Invalid Request: empty batch');
    for (const m of messages) {
      if (!isPlainObject(m) || m.jsonrpc !== '2.0') return rpcError(c, 400, idOf(m), -32600, 'Invalid Request: jsonrpc must be "2.0"');
      // Checked here: the SDK's parser would call an object id a parse error (-32700).
      if ('id' in m && m.id !== null && typeof m.id !== 'string' && typeof m.id !== 'number') {
        return rpcError(c, 400, null, -32600, 'Invalid Request: id must be a string, a number or null');
      }
      if (typeof m.method !== 'string' && !('result' in m) && !('error' in m)) {
        return rpcError(c, 400, idOf(m), -32600, 'Invalid Request: method must be a string');
      }
    }
    const initializing = messages.some((m) => (m as { method?: unknown }).method === 'initialize');
    if (!initializing) {
      const refusal = checkSession(c, idOf(messages[0]));
      if (refusal) return refusal;
    }
    const checked = messages.length === 1 ? checkParams(messages[0] as { method?: unknown }) : undefined;
    if (checked && 'problem' in checked) return c.json({ jsonrpc: '2.0', id: idOf(messages[0]), error: { code: INVALID_PARAMS, message: checked.problem } });
    const session = initializing ? `mcp-session-${randomUUID()}` : (c.req.header('mcp-session-id') as string);
    for (const id of cancelledRequestIds(messages)) waiting.get(waitingKey(session, id))?.();
    if (initializing && messages.some(declaresElicitation)) eliciting.add(session);
    // Answers to our elicitations may reach any replica: each is taken from the store alone (elicit.ts).
    if (messages.every((m) => isElicitationAnswer(m as Record<string, unknown>))) {
      for (const m of messages) await takeElicitationAnswer(deps, m as Record<string, unknown>, c.get('caller'));
      return new Response(null, { status: 202, headers: { 'mcp-session-id': session } });
    }

    // Clients must accept both; the original's clients sent `*/*` or nothing, which we read as both too.
    const accept = c.req.header('accept') ?? '*/*';
    const acceptsJson = accept.includes('application/json') || accept.includes('*/*');
    const acceptsSse = accept.includes('text/event-stream') || accept.includes('*/*');
    if (!acceptsJson && !acceptsSse) return rpcError(c, 406, idOf(messages[0]), -32000, 'Not Acceptable: accept application/json or text/event-stream');
    const waitsLong = messages.length === 1 && waits(deps, messages[0]);
    const streaming = acceptsSse && (!acceptsJson || waitsLong);
    const plain = !streaming && checked ? plainToolCall(body, checked.request, waitsLong, header) : undefined;
    if (plain) {
      const answer = await answerPlainToolCall(deps, plain, header, c.get('caller'));
      return new Response(JSON.stringify(answer), { status: 200, headers: { 'content-type': 'application/json', 'mcp-session-id': session } });
    }

    const abort = new AbortController();
    const stop = () => abort.abort();
    deps.closers.add(stop);
    c.req.raw.signal.addEventListener('abort', stop, { once: true });
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: !streaming,
      keepAliveMs: deps.options.sseKeepAliveMs ?? 15_000,
    });
    transport.onerror = (err) => deps.log.debug(`mcp: ${err.message}`);
    const server = buildMcpServer(deps, abort.signal, header, c.get('caller'), { elicits: eliciting.has(session) });
    const key = waitsLong ? waitingKey(session, idOf(messages[0])) : undefined;
    if (key) waiting.set(key, stop);
    const release = () => {
      deps.closers.delete(stop);
      if (key && waiting.get(key) === stop) waiting.delete(key);
      void server.close().catch(() => {});
    };
    abort.signal.addEventListener('abort', release, { once: true });
    await server.connect(transport);
    const headers = new Headers(c.req.raw.headers);
    headers.set('accept', 'application/json, text/event-stream');
    // A JSON answer that is still waiting when the caller leaves would otherwise never settle.
    const gone = new Promise<Response>((resolve) => abort.signal.addEventListener('abort', () => resolve(new Response(null, { status: 499 })), { once: true }));
    const response = await Promise.race([
      transport.handleRequest(new Request(c.req.raw.url, { method: 'POST', headers }), { parsedBody: body }),
      gone,
    ]);
    const out = new Headers(response.headers);
    out.set('mcp-session-id', session);
    if (!streaming || !response.body) {
      // The SDK answers through a stream even when the JSON is complete; passed on as a stream it would cost
      // a chunked response (headers, body and terminator written apart) instead of one write.
      const text = response.body ? await response.text() : null;
      release();
      return new Response(text, { status: response.status, headers: out });
    }
    // The stream ends by itself after the answer; closing the server earlier would cut it.
    const streamed = response.body.pipeThrough(new TransformStream({ flush: release }));
    return new Response(streamed, { status: response.status, headers: out });
  });

  routes.delete('/mcp', 'client', (c) => {
    const refusal = checkSession(c, null);
    if (refusal) return refusal;
    ended.add(c.req.header('mcp-session-id') as string);
    return c.body(null, 200);
  });

  routes.get('/mcp', 'client', (c) => {
    c.header('Allow', 'POST, DELETE');
    return rpcError(c, 405, null, -32000, 'Method not allowed: this server sends nothing unprompted, so there is no GET stream; use POST');
  });
}

function declaresElicitation(message: unknown): boolean {
  if (!isPlainObject(message) || message.method !== 'initialize' || !isPlainObject(message.params)) return false;
  const capabilities = message.params.capabilities;
  return isPlainObject(capabilities) && isPlainObject(capabilities.elicitation);
}

function waits(deps: GatewayDeps, message: unknown): boolean {
  if (!isPlainObject(message)) return false;
  if (message.method === 'tasks/result') return true;
  if (message.method !== 'tools/call' || !isPlainObject(message.params)) return false;
  const params = message.params as { name?: unknown; _meta?: { progressToken?: unknown }; task?: unknown };
  return typeof params.name === 'string' && waitsForResult(deps.tools.get(params.name), params);
}
