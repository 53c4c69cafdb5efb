/**
 * The MCP server for one HTTP request. Everything it knows lives in the tools config and the envelope
 * store, so a fresh server per request costs little and lets any replica serve any session.
 *
 * tools/call answers like the original (envelope created, ids and URLs) unless the caller can wait: a tool
 * configured with `progress: true`, called with a progressToken, streams notifications/progress on every
 * actor transition and answers with the pipeline's result. With a `task` parameter it answers a task at
 * once, which tasks/get, tasks/result, tasks/list and tasks/cancel then follow.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import {
  CallToolRequestSchema,
  type CallToolRequest,
  ErrorCode,
  ListToolsRequestSchema,
  type Tool as McpTool,
} from '@modelcontextprotocol/sdk/types.js';
import pkg from '../../package.json' with { type: 'json' };
import type { GatewayDeps } from '../deps.ts';
import { rpcError } from './params.ts';
import { InvalidEnvelopeInputError, type EnvelopeEvent, type EnvelopeRecord } from '../store/index.ts';
import { finalResult, keyConflictText, outcomeResult } from '../core/results.ts';
import { IDEMPOTENCY_META_KEY, IDEMPOTENT_REPLAYED_META_KEY, idempotencyKeyProblem } from '../../protocol/gateway-contract.ts';
import { callTool, traceHeaders } from '../core/tool-call.ts';
import { shortened, type Tool } from '../tools/index.ts';
import { ownerScope, type Caller } from '../core/caller.ts';
import { waitForFinal } from '../core/wait-final.ts';
import { registerTaskHandlers, taskFor } from './tasks.ts';
import { elicitPauses } from './elicit.ts';

// Imported, not read from a path relative to this file: in the bundled CLI this file is dist/chunk-*.js.
export const SERVER_INFO = { name: 'asya-gateway', version: pkg.version };
// Building an Ajv instance costs more than the rest of a request; every per-request server shares one.
const SCHEMA_VALIDATOR = new AjvJsonSchemaValidator();

function mcpTool(tool: Tool): McpTool {
  return {
    name: tool.name,
    description: tool.description,
    inputSchema: tool.inputSchema as McpTool['inputSchema'],
    // The original's annotations: a call starts work in the outside world and is not repeatable safely.
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    execution: { taskSupport: 'optional' },
  };
}

/** True when this call will wait for the pipeline, which needs an SSE response for the notifications. */
export function waitsForResult(tool: Tool | undefined, params: { _meta?: { progressToken?: unknown }; task?: unknown }): boolean {
  return tool?.progress === true && params._meta?.progressToken !== undefined && params.task === undefined;
}

/** The key from a call's `_meta`: absent, valid, or refused with the reason. */
function idempotencyKeyOf(meta: Record<string, unknown> | undefined): string | undefined | { problem: string } {
  if (!meta || !(IDEMPOTENCY_META_KEY in meta)) return undefined;
  const key = meta[IDEMPOTENCY_META_KEY];
  const problem = idempotencyKeyProblem(key, `_meta["${IDEMPOTENCY_META_KEY}"]`);
  return problem ? { problem } : (key as string);
}

/** What the gateway remembers of the session's client; `elicits`: it declared the elicitation capability. */
export interface McpSessionInfo {
  elicits: boolean;
}

type Replayed = { _meta: Record<string, true> } | Record<string, never>;

/**
 * A tools/call up to the point where it either has its answer (created, refused, or a task) or, for a caller
 * who can wait (waitsForResult), the created envelope to wait for. Errors are JSON-RPC errors (rpcError).
 */
export async function startToolCall(
  deps: GatewayDeps,
  params: CallToolRequest['params'],
  headers: (name: string) => string | undefined,
  caller: Caller | undefined,
): Promise<{ answer: Record<string, unknown> } | { envelope: EnvelopeRecord; replayed: Replayed }> {
  const { name, arguments: args, task } = params;
  const tool = deps.tools.get(name);
  if (!tool) throw rpcError(ErrorCode.InvalidParams, `Unknown tool: ${shortened(name)}`);
  const key = idempotencyKeyOf(params._meta);
  if (typeof key === 'object') {
    if (task) throw rpcError(ErrorCode.InvalidParams, key.problem);
    return { answer: { content: [{ type: 'text', text: key.problem }], isError: true } };
  }
  const outcome = await callTool(deps, tool, args, { via: 'mcp', headers: traceHeaders(headers), owner: ownerScope(caller), idempotencyKey: key })
    .catch((err: unknown) => {
      throw err instanceof InvalidEnvelopeInputError ? rpcError(ErrorCode.InvalidParams, err.message) : err;
    });
  const replayed: Replayed = outcome.kind === 'repeated' ? { _meta: { [IDEMPOTENT_REPLAYED_META_KEY]: true } } : {};
  if (task) {
    // A task must be created or refused; a CallToolResult is not an answer to a task request.
    if (outcome.kind === 'invalid') throw rpcError(ErrorCode.InvalidParams, `Invalid arguments for tool ${name}: ${outcome.errors.join('; ')}`);
    if (outcome.kind === 'key_conflict') throw rpcError(ErrorCode.InvalidParams, keyConflictText(tool, outcome));
    if (outcome.kind === 'publish_failed') throw rpcError(ErrorCode.InternalError, outcome.error);
    return { answer: { task: taskFor(outcome.envelope, deps), ...replayed } };
  }
  if ((outcome.kind !== 'created' && outcome.kind !== 'repeated') || !waitsForResult(tool, params)) {
    return { answer: { ...outcomeResult(tool, outcome), ...replayed } };
  }
  return { envelope: outcome.envelope, replayed };
}

export function buildMcpServer(
  deps: GatewayDeps,
  signal: AbortSignal,
  headers: (name: string) => string | undefined,
  caller?: Caller,
  session: McpSessionInfo = { elicits: false },
): Server {
  const server = new Server(SERVER_INFO, {
    capabilities: { tools: {}, tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } } },
    jsonSchemaValidator: SCHEMA_VALIDATOR,
  });

  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: deps.tools.list().map(mcpTool) }));

  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const started = await startToolCall(deps, request.params, headers, caller);
    if ('answer' in started) return started.answer;
    const { envelope: created, replayed } = started;
    const progressToken = request.params._meta?.progressToken as string | number;
    let reported = -1;
    let notifications = Promise.resolve();
    const elicit = elicitPauses(server, deps, extra.requestId, session.elicits);
    const onEvent = (event: EnvelopeEvent) => {
      elicit(event);
      if (event.progressPercent === null || event.progressPercent <= reported) return;
      reported = event.progressPercent;
      const params = { progressToken, progress: event.progressPercent, total: 100, ...(event.message ? { message: event.message } : {}) };
      notifications = notifications.then(() => extra.sendNotification({ method: 'notifications/progress', params })).catch(() => {});
    };
    const envelope = await waitForFinal(deps.store, created.id, { onEvent, signal: AbortSignal.any([signal, extra.signal]) });
    await notifications;
    return { ...(await finalResult(envelope, deps.payloads)), ...replayed };
  });

  registerTaskHandlers(server, deps, signal, caller, session.elicits);
  return server;
}
