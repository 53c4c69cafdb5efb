/**
 * JSON-RPC params checked before the SDK sees them: its handlers turn a schema failure into -32603 with
 * a dump of validator internals, where the specification asks for -32602 Invalid params and a person
 * needs one readable line.
 */
import {
  CallToolRequestSchema,
  CancelTaskRequestSchema,
  GetTaskPayloadRequestSchema,
  GetTaskRequestSchema,
  InitializeRequestSchema,
  ListTasksRequestSchema,
  ListToolsRequestSchema,
  PingRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';

interface Parser {
  safeParse(value: unknown): { success: true; data: unknown } | { success: false; error: { issues: Array<{ path: PropertyKey[]; message: string }> } };
}

const SCHEMAS: Record<string, Parser> = {
  initialize: InitializeRequestSchema,
  ping: PingRequestSchema,
  'tools/list': ListToolsRequestSchema,
  'tools/call': CallToolRequestSchema,
  'tasks/get': GetTaskRequestSchema,
  'tasks/result': GetTaskPayloadRequestSchema,
  'tasks/list': ListTasksRequestSchema,
  'tasks/cancel': CancelTaskRequestSchema,
};

export const INVALID_PARAMS = -32602;

/**
 * A request checked against the SDK's schema for its method: the problem with its params, or the request as
 * the schema parsed it (what the SDK's handlers would receive); a method that is not ours to check passes as is.
 */
export function checkParams(request: { method?: unknown }): { problem: string } | { request: unknown } {
  const schema = typeof request.method === 'string' ? SCHEMAS[request.method] : undefined;
  if (!schema) return { request };
  const checked = schema.safeParse(request);
  if (checked.success) return { request: checked.data };
  const issues = checked.error.issues.map((i) => `${i.path.map(String).join('.') || '(request)'}: ${i.message}`);
  return { problem: `Invalid params for ${String(request.method)}: ${issues.join('; ')}` };
}

/** An error the SDK sends as-is: it reads `code` and `message` (McpError would prefix the message). */
export function rpcError(code: number, message: string): Error & { code: number } {
  return Object.assign(new Error(message), { code });
}
