/**
 * `asya dev --demo`: the calls of <dir>/demo.yaml, all at once, through MCP as an agent would make them
 * (the official SDK client over Streamable HTTP, with a progressToken so the gateway streams
 * notifications/progress and answers with the pipeline's result). True when every call ended as expected.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { failureText } from '../client/failure-text.ts';
import { CreatedBody, FinalBody } from '../../protocol/gateway-contract.ts';
import { GatewayClient } from '../client/gateway-client.ts';
import { unmet, type DemoCall } from './demo-file.ts';
import { errorText } from '../../protocol/errors.ts';

/** A pipeline may run long, but each progress notification shows it is alive. */
const SILENCE_TIMEOUT_MS = 120_000;
const TOTAL_TIMEOUT_MS = 600_000;

interface Outcome {
  id: string;
  status: string;
  result?: unknown;
  text: string;
}

export async function runDemo(gatewayUrl: string, calls: DemoCall[], print: (line: string) => void, token?: string): Promise<boolean> {
  const client = new Client({ name: 'asya-dev-demo', version: '1.0.0' });
  const headers = token ? { authorization: `Bearer ${token}` } : undefined;
  await client.connect(new StreamableHTTPClientTransport(new URL(`${gatewayUrl}/mcp`), headers ? { requestInit: { headers } } : {}));
  const rest = new GatewayClient(gatewayUrl, token);
  try {
    const results = await Promise.all(
      calls.map(async (call, i) => {
        const tag = `[${i + 1}]`;
        print(`→ ${call.tool}(${JSON.stringify(call.arguments)}) ${tag}`);
        let outcome: Outcome;
        try {
          outcome = await callThroughMcp(client, rest, call, (percent, message) => print(`  ${tag} ${String(Math.round(percent)).padStart(3)}% ${message ?? ''}`.trimEnd()));
        } catch (err) {
          outcome = { id: '-', status: 'error', text: errorText(err) };
        }
        if (outcome.status === 'succeeded') print(`✓ ${outcome.id} succeeded: ${tag}\n${JSON.stringify(outcome.result, null, 2)}`);
        else if (outcome.status === 'failed') print(`✗ ${outcome.id} failed: ${outcome.text} ${tag}`);
        else print(`… ${tag} ${call.tool} did not finish: ${outcome.text}`);
        const problem = unmet(call.expect, outcome);
        if (problem) print(`✗ ${tag} ${call.tool} did not end as demo.yaml expects: ${problem}`);
        return problem === undefined;
      }),
    );
    const met = results.filter(Boolean).length;
    print(`${met} of ${calls.length} demo calls ended as expected`);
    return met === calls.length;
  } finally {
    await client.close().catch(() => {});
  }
}

async function callThroughMcp(client: Client, rest: GatewayClient, call: DemoCall, progress: (percent: number, message?: string) => void): Promise<Outcome> {
  const answer = await client.callTool({ name: call.tool, arguments: call.arguments }, CallToolResultSchema, {
    onprogress: (p) => progress(p.total ? (p.progress / p.total) * 100 : p.progress, p.message),
    resetTimeoutOnProgress: true,
    timeout: SILENCE_TIMEOUT_MS,
    maxTotalTimeout: TOTAL_TIMEOUT_MS,
  });
  const content = (answer.content ?? []) as Array<{ type: string; text?: string }>;
  const text = content.map((c) => c.text ?? '').join('\n');
  // A call that waited answers the pipeline's end (the contract's FinalBody); any other answer has none.
  const final = FinalBody.safeParse(answer.structuredContent).data;
  if (final) {
    return {
      id: final.envelope_id,
      status: final.status,
      result: final.result,
      text: final.status === 'failed' ? failureText({ error: final.error, result: final.details }) : JSON.stringify(final.result),
    };
  }
  if (answer.isError) throw new Error(`the gateway refused the call: ${text}`);
  // A tool without `progress: true` answers at once with the envelope id; its end comes over SSE.
  const id = CreatedBody.parse(JSON.parse(text)).envelope_id;
  for await (const update of rest.updates(id, AbortSignal.timeout(TOTAL_TIMEOUT_MS))) {
    if (update.progress_percent !== undefined && update.late !== true) progress(update.progress_percent, update.message);
  }
  const envelope = await rest.envelope(id);
  return {
    id,
    status: envelope.status,
    result: envelope.result,
    text: envelope.status === 'failed' ? failureText(envelope) : JSON.stringify(envelope.result),
  };
}
