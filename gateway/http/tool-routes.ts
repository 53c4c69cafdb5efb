/** POST /tools/call: the original's REST form of a tool call, answering a CallToolResult (docs/gateway.md, "HTTP API"). */
import { ToolCallRequest } from '../../protocol/gateway-contract.ts';
import type { GatewayDeps } from '../deps.ts';
import { ownerScope } from '../core/caller.ts';
import { outcomeResult } from '../core/results.ts';
import { callTool, traceHeaders } from '../core/tool-call.ts';
import { shortened } from '../tools/index.ts';
import { HttpError } from './errors.ts';
import { readRequest } from './request-body.ts';
import { requestHeader } from './request-headers.ts';
import type { Routes } from './routes.ts';

export function toolRoutes(routes: Routes, deps: GatewayDeps): void {
  routes.post('/tools/call', 'client', async (c) => {
    const { name, arguments: args } = readRequest(c, ToolCallRequest);
    const tool = deps.tools.get(name);
    if (!tool) throw new HttpError(404, `Tool "${shortened(name)}" not found`);
    const outcome = await callTool(deps, tool, args, { via: 'rest', headers: traceHeaders((h) => requestHeader(c, h)), owner: ownerScope(c.get('caller')) });
    return c.json(outcomeResult(tool, outcome));
  });
}
