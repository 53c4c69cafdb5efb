/** A gateway with the REST suites' tools on its own PostgreSQL schema, and request helpers. */
import type { TestSchema } from './postgres.ts';
import { MemoryTransport } from '../../transport/memory.ts';
import { Sidecar, startTestGateway, testSchema, type TestGateway } from './gateway-harness.ts';

export const TOOLS = `
defaults: {timeout: 60}
routes:
  pipeline: [doubler, incrementer]
tools:
- name: echo
  description: Echo a message
  parameters:
    message: {type: string, required: true}
  route: [echo]
  metadata: {team: search}
- name: pipeline
  parameters:
    value: {type: integer, required: true}
    mode: {type: string, options: [fast, slow], default: fast}
  route: pipeline
  progress: true
- name: untimed
  route: [echo]
  timeout: 0
- name: unroutable
  route: [nowhere]
`;

export interface RestFixture {
  schema: TestSchema;
  gw: TestGateway;
  transport: MemoryTransport;
  sidecar: Sidecar;
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{
    status: number;
    json: Record<string, unknown>;
    text: string;
    headers: Headers;
  }>;
  /** POST /tools/call; `parsed` is the JSON inside the first text item, when it is JSON. */
  call(name: string, args: unknown, headers?: Record<string, string>): Promise<{
    status: number;
    json: Record<string, unknown>;
    content: Array<{ text: string }>;
    parsed: Record<string, unknown> | undefined;
  }>;
  stop(): Promise<void>;
}

export async function startRestFixture(prefix: string): Promise<RestFixture> {
  const schema = await testSchema(prefix);
  const transport = new MemoryTransport({ logger: { info() {}, warn() {}, error() {} } });
  for (const q of ['asya-echo', 'asya-doubler']) await transport.ensureQueue(q);
  const gw = await startTestGateway({ schema, tools: TOOLS, transport });
  const request: RestFixture['request'] = async (method, path, body, headers = {}) => {
    const res = await fetch(`${gw.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, json: json as Record<string, unknown>, text, headers: res.headers };
  };
  const call: RestFixture['call'] = async (name, args, headers = {}) => {
    const res = await request('POST', '/tools/call', { name, arguments: args }, headers);
    const content = (res.json as { content: Array<{ text: string }> }).content;
    let parsed: Record<string, unknown> | undefined;
    try {
      parsed = JSON.parse(content[0]!.text) as Record<string, unknown>;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, json: res.json, content, parsed };
  };
  return {
    schema, gw, transport, sidecar: new Sidecar(gw.url), request, call,
    async stop() {
      await gw.stop();
      await transport.close();
      await schema.drop();
    },
  };
}
