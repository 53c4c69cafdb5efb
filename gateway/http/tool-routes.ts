/** POST /tools/call: the original's REST form of a tool call, answering a CallToolResult (docs/gateway.md, "HTTP API"). */
import type { Context } from 'hono';
import {
  IDEMPOTENCY_KEY_CONFLICT,
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENT_REPLAYED_HEADER,
  idempotencyKeyProblem,
  ToolCallRequest,
} from '../../protocol/gateway-contract.ts';
import type { GatewayDeps } from '../deps.ts';
import { ownerScope } from '../core/caller.ts';
import { keyConflictText, outcomeResult } from '../core/results.ts';
import { callTool, traceHeaders } from '../core/tool-call.ts';
import { shortened } from '../tools/index.ts';
import { HttpError } from './errors.ts';
import { readRequest } from './request-body.ts';
import { requestHeader } from './request-headers.ts';
import type { Routes } from './routes.ts';

export function toolRoutes(routes: Routes, deps: GatewayDeps): void {
  routes.post('/tools/call', 'client', async (c) => {
    const idempotencyKey = idempotencyKeyOf(c);
    const { name, arguments: args } = readRequest(c, ToolCallRequest);
    const tool = deps.tools.get(name);
    if (!tool) throw new HttpError(404, `Tool "${shortened(name)}" not found`);
    const outcome = await callTool(deps, tool, args, {
      via: 'rest', headers: traceHeaders((h) => requestHeader(c, h)), owner: ownerScope(c.get('caller')), idempotencyKey,
    });
    if (outcome.kind === 'key_conflict') throw new HttpError(409, keyConflictText(tool, outcome), { code: IDEMPOTENCY_KEY_CONFLICT });
    if (outcome.kind === 'repeated') c.header(IDEMPOTENT_REPLAYED_HEADER, 'true');
    return c.json(outcomeResult(tool, outcome));
  });
}

/**
 * The Idempotency-Key header, checked before the tool. The IETF draft sends it as a structured-field
 * string (`"abc"`); most clients send it bare. Both name the same key.
 */
function idempotencyKeyOf(c: Context): string | undefined {
  const raw = requestHeader(c, IDEMPOTENCY_KEY_HEADER.toLowerCase());
  if (raw === undefined) return undefined;
  const key = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
  const problem = idempotencyKeyProblem(key, `${IDEMPOTENCY_KEY_HEADER} header`);
  if (problem) throw new HttpError(400, problem);
  return key;
}
