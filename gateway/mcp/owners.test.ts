/** MCP tasks with named client tokens: each caller lists and reaches only its own tasks; admin sees all. */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TestSchema } from '../../test/support/postgres.ts';
import { MemoryTransport } from '../../transport/memory.ts';
import { Sidecar, startTestGateway, takePublished, testSchema, type TestGateway } from '../../test/support/gateway-harness.ts';

const TOOLS = `
tools:
- name: echo
  parameters:
    message: {type: string, required: true}
  route: [echo]
`;
const INTERNAL = 'sidecar-secret';
const TOKENS = { alice: 'alice-secret', bob: 'bob-secret' };
const ADMIN = 'admin-secret';

let schema: TestSchema;
let transport: MemoryTransport;
let gw: TestGateway;
const clients: Client[] = [];

beforeAll(async () => {
  schema = await testSchema('mcp_owners');
  transport = new MemoryTransport({ logger: { info() {}, warn() {}, error() {} } });
  await transport.ensureQueue('asya-echo');
  gw = await startTestGateway({ schema, tools: TOOLS, transport, config: { internalToken: INTERNAL, adminToken: ADMIN, clientTokens: TOKENS } });
});

afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await gw?.stop();
  await transport?.close();
  await schema?.drop();
});

async function connect(token: string): Promise<Client> {
  const client = new Client({ name: 'owners-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  clients.push(client);
  return client;
}

async function startTask(client: Client, message: string): Promise<string> {
  for await (const m of client.experimental.tasks.callToolStream({ name: 'echo', arguments: { message } }, CallToolResultSchema, { task: { ttl: 60_000 } })) {
    if (m.type === 'taskCreated') return m.task.taskId;
  }
  throw new Error('no task was created');
}

describe('MCP tasks per owner', () => {
  it('lists, gets, waits for and cancels only the caller’s own tasks', async () => {
    const alice = await connect(TOKENS.alice);
    const bob = await connect(TOKENS.bob);
    const admin = await connect(ADMIN);
    const hers = await startTask(alice, 'alice');
    await takePublished(transport, 'echo');
    const his = await startTask(bob, 'bob');
    await takePublished(transport, 'echo');
    expect(await gw.store.get(hers)).toMatchObject({ owner: 'alice' });

    const aliceSees = (await alice.experimental.tasks.listTasks()).tasks.map((t) => t.taskId);
    expect(aliceSees).toContain(hers);
    expect(aliceSees).not.toContain(his);
    const notFound = { code: -32602, message: `MCP error -32602: Task not found: ${his}` };
    await expect(alice.experimental.tasks.getTask(his)).rejects.toMatchObject(notFound);
    await expect(alice.experimental.tasks.cancelTask(his)).rejects.toMatchObject(notFound);
    await expect(alice.experimental.tasks.getTaskResult(his, CallToolResultSchema)).rejects.toMatchObject(notFound);

    expect((await admin.experimental.tasks.listTasks()).tasks.map((t) => t.taskId)).toEqual(expect.arrayContaining([hers, his]));
    expect(await admin.experimental.tasks.getTask(his)).toMatchObject({ taskId: his, status: 'working' });

    await new Sidecar(gw.url, INTERNAL).final(his, { status: 'succeeded', result: { for: 'bob' } });
    const result = await bob.experimental.tasks.getTaskResult(his, CallToolResultSchema);
    expect(result.structuredContent).toMatchObject({ status: 'succeeded', result: { for: 'bob' } });
    expect(await gw.store.get(his)).toMatchObject({ status: 'succeeded' });
  });
});
