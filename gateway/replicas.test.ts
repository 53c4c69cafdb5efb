/**
 * Several gateways on one PostgreSQL: live updates cross replicas, deadlines survive restarts, and losing
 * the database makes a gateway not-ready (never crashed) until it comes back, without losing accepted work.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOutageRelay, type PostgresOutage, type TestSchema } from '../test/support/postgres.ts';
import { MemoryTransport } from '../transport/memory.ts';
import { startGateway } from './server.ts';
import { quietLog, readSse, Sidecar, startTestGateway, takePublished, testSchema, toolsFrom, waitUntil, type TestGateway } from '../test/support/gateway-harness.ts';

const TOOLS = `
tools:
- name: work
  parameters: {n: {type: integer}}
  route: [worker, finisher]
  progress: true
  timeout: 30
- name: quick
  route: [worker]
  timeout: 1
`;

let schema: TestSchema;
let transport: MemoryTransport;
const running: TestGateway[] = [];
const relays: PostgresOutage[] = [];

beforeAll(async () => {
  schema = await testSchema('replicas');
  transport = new MemoryTransport({ logger: { info() {}, warn() {}, error() {} } });
  await transport.ensureQueue('asya-worker');
});

afterAll(async () => {
  await Promise.allSettled(running.map((g) => g.stop()));
  await Promise.allSettled(relays.map((r) => r.close()));
  await transport?.close();
  await schema?.drop();
});

async function replica(options: Partial<Parameters<typeof startTestGateway>[0]> = {}): Promise<TestGateway> {
  const gw = await startTestGateway({ schema, tools: TOOLS, transport, ...options });
  running.push(gw);
  return gw;
}

async function callTool(gw: TestGateway, name: string, args: unknown = {}): Promise<string> {
  const res = await fetch(`${gw.url}/tools/call`, { method: 'POST', body: JSON.stringify({ name, arguments: args }) });
  const body = (await res.json()) as { content: Array<{ text: string }> };
  return (JSON.parse(body.content[0]!.text) as { envelope_id: string }).envelope_id;
}

const getJson = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
};

describe('two replicas on one database', () => {
  it('an update posted to replica A shows live on a stream held on replica B', async () => {
    const [a, b] = [await replica(), await replica()];
    const id = await callTool(a, 'work', { n: 1 });
    const envelope = await takePublished(transport, 'worker');
    const reading = readSse(`${b.url}/envelopes/${id}/stream`, {
      onOpen: () => void new Sidecar(a.url).walk(envelope, { done: true }),
    });
    const read = await reading;
    expect(read.closedByServer).toBe(true);
    const events = read.events.map((e) => JSON.parse(e.data) as { status: string; progress_percent: number });
    expect(events.map((e) => e.progress_percent)).toEqual([0, 5, 25, 50, 55, 75, 99, 100]);
    expect(events.at(-1)).toMatchObject({ status: 'succeeded', result: { done: true } });
  });

  it('a caller waiting over MCP on replica B gets progress reported to replica A', async () => {
    const [a, b] = [await replica(), await replica()];
    const client = new Client({ name: 'cross', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${b.url}/mcp`)));
    try {
      const progress: number[] = [];
      const calling = client.callTool({ name: 'work', arguments: { n: 2 } }, CallToolResultSchema, { onprogress: (p) => progress.push(p.progress) });
      const envelope = await takePublished(transport, 'worker');
      await new Sidecar(a.url).walk(envelope, 'ok');
      const result = await calling;
      expect(result.structuredContent).toEqual({ envelope_id: envelope.id, status: 'succeeded', result: 'ok' });
      expect(progress).toEqual([0, 5, 25, 50, 55, 75, 99, 100]);
    } finally {
      await client.close();
    }
  });

  it('late progress after the final, on the other replica, changes nothing', async () => {
    const [a, b] = [await replica(), await replica()];
    const id = await callTool(a, 'work');
    await takePublished(transport, 'worker');
    await new Sidecar(a.url).final(id, { status: 'succeeded', result: 1 });
    const before = await getJson(`${a.url}/envelopes/${id}`);
    expect((await new Sidecar(b.url).progress(id, ['worker', 'finisher'], 0, 'processing')).body).toMatchObject({ status: 'ignored' });
    expect(await getJson(`${b.url}/envelopes/${id}`)).toEqual(before);
  });

  it('fails an overdue envelope exactly once with both replicas sweeping', async () => {
    const [a] = [await replica({ sweeper: true }), await replica({ sweeper: true })];
    const id = await callTool(a, 'quick');
    await takePublished(transport, 'worker');
    await waitUntil(async () => (await getJson(`${a.url}/envelopes/${id}`)).json.status === 'failed', 10_000, 'timeout');
    expect((await getJson(`${a.url}/envelopes/${id}`)).json).toMatchObject({ status: 'failed', error: 'envelope timed out' });
    // Both replicas sweep again after the failure: neither finds anything left to fail.
    for (const gw of running.slice(-2)) expect(await gw.gateway.sweeper!.sweepOnce()).not.toContain(id);
    const stream = await readSse(`${a.url}/envelopes/${id}/stream`);
    expect(stream.events.map((e) => (JSON.parse(e.data) as { status: string }).status)).toEqual(['pending', 'failed']);
  });
});

describe('restarts', () => {
  it('keep history, and a restarted gateway still fails what went overdue while it was down', async () => {
    const first = await replica();
    const id = await callTool(first, 'quick');
    await takePublished(transport, 'worker');
    await new Sidecar(first.url).progress(id, ['worker'], 0, 'received');
    const deadline = Date.parse(String((await getJson(`${first.url}/envelopes/${id}`)).json.deadline));
    expect(Number.isFinite(deadline)).toBe(true);
    await first.stop();
    running.splice(running.indexOf(first), 1);
    // The deadline passes while no gateway runs.
    await waitUntil(() => Date.now() > deadline, 10_000, 'the deadline to pass');
    const second = await replica({ sweeper: true });
    await waitUntil(async () => (await getJson(`${second.url}/envelopes/${id}`)).json.status === 'failed', 10_000, 'timeout after restart');
    const read = await readSse(`${second.url}/envelopes/${id}/stream`);
    expect(read.events.map((e) => JSON.parse(e.data) as { status: string; error?: string })).toMatchObject([
      { status: 'pending' }, { status: 'running' }, { status: 'failed', error: 'envelope timed out' },
    ]);
  });
});

describe('losing PostgreSQL', () => {
  it('reports not ready, answers 503, keeps accepted updates, and catches streams up when it returns', async () => {
    const relay = await startOutageRelay(schema.url);
    relays.push(relay);
    const viaRelay = await replica({ store: { url: relay.url, connectTimeoutSeconds: 1, applicationName: 'asya-gw-outage' } });
    const direct = await replica();
    const id = await callTool(viaRelay, 'work');
    const envelope = await takePublished(transport, 'worker');
    const sidecar = new Sidecar(viaRelay.url);
    expect((await sidecar.progress(id, envelope.route.actors, 0, 'received')).status).toBe(200);
    let streamed = 0;
    const reading = readSse(`${viaRelay.url}/envelopes/${id}/stream`, {
      until: (r) => {
        streamed = r.events.length;
        return r.events.some((e) => e.data.includes('"processing"'));
      },
      timeoutMs: 30_000,
    });
    // The stream is live: it has delivered the history (pending, received) before the database goes.
    await waitUntil(() => streamed >= 2, 10_000, 'the stream delivering the history');

    await relay.down();
    expect((await getJson(`${viaRelay.url}/ready`))).toEqual({ status: 503, json: { status: 'not ready', error: 'envelope store unreachable' } });
    const unavailable = await getJson(`${viaRelay.url}/envelopes/${id}`);
    expect(unavailable.status).toBe(503);
    expect(String(unavailable.json.error)).toMatch(/^envelope store unavailable: /);
    expect((await sidecar.progress(id, envelope.route.actors, 0, 'processing')).status).toBe(503);
    const health = await fetch(`${viaRelay.url}/health`);
    expect([health.status, await health.text()]).toEqual([200, 'OK\n']);
    // Meanwhile another replica, still connected, records the update the sidecar retries there.
    expect((await new Sidecar(direct.url).progress(id, envelope.route.actors, 0, 'processing')).status).toBe(200);

    await relay.up();
    await waitUntil(async () => (await fetch(`${viaRelay.url}/ready`)).status === 200, 20_000, 'ready again');
    const read = await reading;
    expect(read.events.map((e) => (JSON.parse(e.data) as { envelope_state?: string }).envelope_state ?? '-')).toEqual(['-', 'received', 'processing']);
    expect((await getJson(`${viaRelay.url}/envelopes/${id}`)).json).toMatchObject({ status: 'running', progress_percent: 25 });
  });

  it('starts while the database is down: alive, not ready, then ready on its own', async () => {
    const relay = await startOutageRelay(schema.url);
    relays.push(relay);
    await relay.down();
    const gw = await startGateway({
      env: {}, log: quietLog, transport, tools: toolsFrom(TOOLS), sweeper: true,
      config: { port: 0, host: '127.0.0.1', databaseUrl: relay.url, databaseSchema: schema.name, shutdownTimeoutMs: 1000, sweepIntervalMs: 100, auth: 'none' },
    });
    try {
      expect((await fetch(`${gw.url}/health`)).status).toBe(200);
      expect((await fetch(`${gw.url}/ready`)).status).toBe(503);
      const refused = await fetch(`${gw.url}/tools/call`, { method: 'POST', body: JSON.stringify({ name: 'work', arguments: {} }) });
      expect(refused.status).toBe(503);
      expect(((await refused.json()) as { error: string }).error).toMatch(/^envelope store unavailable/);
      await relay.up();
      await waitUntil(async () => (await fetch(`${gw.url}/ready`)).status === 200, 20_000, 'ready after the database came up');
      const res = await fetch(`${gw.url}/tools/call`, { method: 'POST', body: JSON.stringify({ name: 'work', arguments: {} }) });
      expect(res.status).toBe(200);
      await takePublished(transport, 'worker');
    } finally {
      await gw.stop();
    }
  });
});
