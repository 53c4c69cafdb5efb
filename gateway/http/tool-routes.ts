/** POST /tools/call: the original's REST form of a tool call, answering a CallToolResult (docs/gateway.md, "HTTP API"). */
import type { Hono } from 'hono';
import { isPlainObject } from '../../protocol/json.ts';
import type { GatewayDeps } from '../deps.ts';
import { callTool, outcomeResult, traceHeaders } from '../tool-call.ts';
import { shortened } from '../tools/index.ts';
import { ownerScope } from './access.ts';
import { HttpError, readJson } from './errors.ts';
import { requestHeader } from './request-headers.ts';

export function toolRoutes(app: Hono, deps: GatewayDeps): void {
  app.post('/tools/call', async (c) => {
    const body = readJson(c);
    if (!isPlainObject(body)) throw new HttpError(400, 'Invalid request body: expected {"name": ..., "arguments": {...}}');
    const name = body.name;
    if (name !== undefined && typeof name !== 'string') throw new HttpError(400, 'Invalid request body: name must be a string');
    if (!name) throw new HttpError(400, 'Tool name is required');
    const tool = deps.tools.get(name);
    if (!tool) throw new HttpError(404, `Tool "${shortened(name)}" not found`);
    const outcome = await callTool(deps, tool, body.arguments, traceHeaders((h) => requestHeader(c, h)), ownerScope(c.get('caller')));
    deps.metrics.toolCalls.inc({ tool: tool.name, via: 'rest', outcome: outcome.kind });
    if (outcome.kind === 'publish_failed') deps.metrics.publishFailures.inc();
    return c.json(outcomeResult(tool, outcome));
  });
}
