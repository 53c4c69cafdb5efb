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
  safeParse(value: unknown): { success: true } | { success: false; error: { issues: Array<{ path: PropertyKey[]; message: string }> } };
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

/** The problem with a request's params, or undefined when they are fine or the method is not ours to check. */
export function paramsProblem(request: { method?: unknown }): string | undefined {
  const schema = typeof request.method === 'string' ? SCHEMAS[request.method] : undefined;
  if (!schema) return undefined;
  const checked = schema.safeParse(request);
  if (checked.success) return undefined;
  const issues = checked.error.issues.map((i) => `${i.path.map(String).join('.') || '(request)'}: ${i.message}`);
  return `Invalid params for ${String(request.method)}: ${issues.join('; ')}`;
}

/** An error the SDK sends as-is: it reads `code` and `message` (McpError would prefix the message). */
export function rpcError(code: number, message: string): Error & { code: number } {
  return Object.assign(new Error(message), { code });
}
