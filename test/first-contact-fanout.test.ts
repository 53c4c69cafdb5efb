/**
 * A fan-out whose branch fails, in a new user's own project under asya dev: the caller sees why the branch
 * failed (the handler's exception type and message), through `asya call`, MCP and REST alike, not only
 * "processing_error" with the reason left in a child envelope it never asked for.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { asya, startDev, type DevProcess } from './support/dev-process.ts';
import { actorManifest, emptyProject } from './support/new-project.ts';

const project = emptyProject();
let dev: DevProcess;
const noRetry = '\n  retry:\n    maxAttempts: 1';

beforeAll(async () => {
  project.write('split.py', 'def process(payload):\n    return [{"word": w} for w in payload["text"].split()]\n');
  project.write('check.py', 'def process(payload):\n    if payload["word"] == "bad":\n        raise ValueError("the word bad is not allowed")\n    return payload\n');
  project.write('split.yaml', actorManifest('split', 'split.process', noRetry));
  project.write('check.yaml', actorManifest('check', 'check.process', noRetry));
  project.write('tools.yaml', 'tools:\n- name: check_words\n  parameters:\n    text: {type: string, required: true}\n  route: [split, check]\n  progress: true\n');
  dev = await startDev(project.dir, ['--no-table']);
}, 180_000);

afterAll(async () => {
  await dev?.stop('SIGKILL');
  project.cleanup();
});

const WHY = /processing_error at check: ValueError: the word bad is not allowed/;

test('asya call prints the failed branch\'s exception type and message', async () => {
  const run = await asya(['call', 'check_words', '--text', 'good bad fine', '--gateway', dev.url], {}, project.dir);
  expect(run.status).toBe(1);
  expect(run.stderr).toMatch(/1 of 3 fan-out branches failed: \S+: processing_error at check: ValueError: the word bad is not allowed/);
}, 120_000);

test('MCP and REST show each failed branch with its message and type', async () => {
  const client = new Client({ name: 'first-contact', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${dev.url}/mcp`)));
  try {
    // With a progress token the call answers once the envelope is final (without, it answers the envelope id).
    const result = await client.callTool({ name: 'check_words', arguments: { text: 'bad good' } }, CallToolResultSchema, {
      onprogress: () => {},
      resetTimeoutOnProgress: true,
    });
    expect(result.isError).toBe(true);
    const text = (result.content as Array<{ type: string; text?: string }>).map((c) => c.text ?? '').join('\n');
    expect(text).toMatch(WHY);
    const structured = result.structuredContent as { envelope_id: string; status: string; error: string };
    expect(structured).toMatchObject({ status: 'failed' });
    expect(structured.error).toMatch(WHY);

    const rest = (await (await fetch(`${dev.url}/envelopes/${structured.envelope_id}`)).json()) as { error: string; result: unknown[] };
    expect(rest.error).toMatch(WHY);
    expect(rest.result).toEqual([
      expect.objectContaining({ status: 'failed', error: 'processing_error', type: 'ValueError', message: 'the word bad is not allowed', failed_actor: 'check' }),
      expect.objectContaining({ status: 'succeeded', result: { word: 'good' } }),
    ]);
  } finally {
    await client.close();
  }
}, 120_000);
