/** asya dev driven by the official MCP SDK client over Streamable HTTP, as an agent would use it. */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { copyExample, startDev, type DevProcess } from './support/dev-process.ts';

const example = copyExample('hello');
let dev: DevProcess;
let client: Client;

beforeAll(async () => {
  dev = await startDev(example.dir, ['--data-dir', join(example.dir, '.store')]);
  client = new Client({ name: 'asya-dev-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${dev.url}/mcp`)));
}, 120_000);

afterAll(async () => {
  await client?.close();
  expect(await dev?.stop()).toBe(0);
  example.cleanup();
});

test('tools/list offers the tools of <dir>/tools.yaml with their input schema', async () => {
  const { tools } = await client.listTools();
  expect(tools.map((t) => t.name)).toEqual(['analyze_text']);
  expect(tools[0]!.inputSchema).toMatchObject({ type: 'object', properties: { text: { type: 'string' } }, required: ['text'] });
});

test('tools/call with a progressToken streams progress through the three actors and answers the result', async () => {
  const progress: number[] = [];
  const result = await client.callTool({ name: 'analyze_text', arguments: { text: 'fast and nice' } }, CallToolResultSchema, {
    onprogress: (p) => progress.push(p.progress),
    resetTimeoutOnProgress: true,
  });
  expect(result.isError).toBeFalsy();
  expect(result.structuredContent).toMatchObject({ status: 'succeeded', result: { verdict: 'positive (score +2 over 3 words)' } });
  // Honest progress: it only grows, the actors' steps show between 0 and 100, and 100 comes once, last,
  // with the final status that the answer carries.
  expect(progress).toEqual([...progress].sort((a, b) => a - b));
  expect(new Set(progress).size).toBe(progress.length);
  expect(progress.filter((p) => p > 0 && p < 100).length).toBeGreaterThanOrEqual(2);
  expect(progress.at(-1)).toBe(100);
  expect(progress.slice(0, -1).every((p) => p < 100)).toBe(true);
});

test('a call that fails in a handler answers isError with the failed actor', async () => {
  const result = await client.callTool({ name: 'analyze_text', arguments: { text: ' ' } }, CallToolResultSchema, { onprogress: () => {} });
  expect(result.isError).toBe(true);
  expect(result.structuredContent).toMatchObject({ status: 'failed', error: 'processing_error', details: { failed_actor: 'normalize' } });
});
