/**
 * asya call, status and tools against a running `asya dev` stack (real gateway, real runtimes), with a
 * client token required, as a user would run them: exit codes, argument coercion by the tool's schema, bad
 * JSON, unknown tools, an unreachable gateway.
 */
import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { asya, copyExample, startDev, type DevProcess } from './support/dev-process.ts';

const TOKEN = 'cli-test-secret';
let example: { dir: string; cleanup: () => void };
let dev: DevProcess;
let env: Record<string, string>;

/** A tool with typed arguments, on the hello example's actors; the arguments stay in the envelope's payload. */
const TYPED_TOOL = `
- name: analyze_many
  description: The hello pipeline, with arguments of every type.
  parameters:
    text: {type: string, required: true, description: The text}
    repeat: {type: integer, default: 1}
    ratio: {type: number}
    loud: {type: boolean}
    tags: {type: array, items: {type: string}}
    extra: {type: object}
  route: [normalize, sentiment, report]
  progress: true
`;

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/**
 * In front of the gateway, losing one answer: the first POST /tools/call reaches the gateway, which does the
 * work, and then the connection is cut instead of answered, as a flaky network does. The rest pass through.
 */
async function answerLosingProxy(target: string): Promise<{ url: string; posts: () => number; close: () => Promise<void> }> {
  let posts = 0;
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const isCall = req.method === 'POST' && req.url === '/tools/call';
      const lose = isCall && ++posts === 1;
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'content-length')) as Record<string, string>;
      const body = req.method === 'GET' ? undefined : Buffer.concat(chunks);
      void fetch(`${target}${req.url}`, { method: req.method, headers, ...(body ? { body } : {}) }).then(async (answer) => {
        const text = await answer.text();
        if (lose) return req.socket.destroy();
        res.writeHead(answer.status, Object.fromEntries(answer.headers));
        res.end(text);
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, posts: () => posts, close: () => new Promise((r) => server.close(() => r())) };
}

beforeAll(async () => {
  example = copyExample('hello');
  appendFileSync(join(example.dir, 'tools.yaml'), TYPED_TOOL);
  dev = await startDev(example.dir, ['--data-dir', join(example.dir, '.store')], { ASYA_GATEWAY_API_TOKEN: TOKEN });
  env = { ASYA_GATEWAY_URL: dev.url, ASYA_GATEWAY_API_TOKEN: TOKEN };
}, 120_000);

afterAll(async () => {
  expect(await dev?.stop()).toBe(0);
  example?.cleanup();
});

describe('asya call', () => {
  test('--key value arguments are coerced by the tool schema; the whole envelope with --json; exit 0', async () => {
    const run = await asya(['call', 'analyze_many', '--text', 'great work', '--repeat', '3', '--ratio=0.5', '--loud', '--tags', 'a', '--tags', 'b', '--extra', '{"k": [1]}', '--json'], env);
    expect(run.status, run.stderr).toBe(0);
    const envelope = JSON.parse(run.stdout) as { status: string; payload: Record<string, unknown>; result: { verdict: string } };
    expect(envelope.status).toBe('succeeded');
    expect(envelope.payload).toMatchObject({ text: 'great work', repeat: 3, ratio: 0.5, loud: true, tags: ['a', 'b'], extra: { k: [1] } });
    expect(envelope.result.verdict).toMatch(/^positive/);
    // Not a terminal: plain progress lines on stderr, ending at 100%.
    expect(run.stderr).toMatch(/^analyze_many: 100% /m);
  });

  test('a JSON object as arguments; the result alone on stdout', async () => {
    const run = await asya(['call', 'analyze_text', '{"text": "a slow and broken build"}'], env);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ verdict: 'negative (score -2 over 5 words)' });
  });

  test('a call that ends failed exits 1 and says where and why', async () => {
    const run = await asya(['call', 'analyze_text', '--text', '   '], env);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/✗ analyze_text failed: processing_error at normalize — ValueError: payload.text must be a non-empty string/);
  });

  test('bad JSON is a usage error (2) that points at the spot', async () => {
    const run = await asya(['call', 'analyze_text', '{"text": hi}'], env);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('not valid JSON: unexpected "h" at line 1, column 10');
    expect(run.stderr).toContain('  {"text": hi}\n           ^');
  });

  test('a value the schema cannot take, and arguments the gateway refuses, are usage errors (2)', async () => {
    const notInteger = await asya(['call', 'analyze_many', '--text', 'x', '--repeat', 'three'], env);
    expect(notInteger.status).toBe(2);
    expect(notInteger.stderr).toContain('--repeat expects an integer, got "three"');
    const missing = await asya(['call', 'analyze_many', '{"repeat": 2}'], env);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('missing required parameter: text');
    const noTool = await asya(['call'], env);
    expect(noTool.status).toBe(2);
    expect(noTool.stderr).toContain('missing the tool name');
  });

  test('an unknown tool exits 4, with flags (checked against tools/list) or JSON (refused by the gateway)', async () => {
    const withFlags = await asya(['call', 'no_such_tool', '--text', 'x'], env);
    expect(withFlags.status).toBe(4);
    expect(withFlags.stderr).toContain('has no tool "no_such_tool"; it has: analyze_many, analyze_text');
    const withJson = await asya(['call', 'no_such_tool', '{}'], env);
    expect(withJson.status).toBe(4);
  });

  test('--idempotency-key: a repeat follows the first envelope (asya dev, PGlite); other arguments and bad keys exit 2', async () => {
    const key = `cli-${Date.now().toString(36)}`;
    const first = await asya(['call', 'analyze_text', '--text', 'calm and kind', '--idempotency-key', key], env);
    expect(first.status, first.stderr).toBe(0);
    const id = /envelope (\S+)/.exec(first.stderr)?.[1];
    expect(id).toBeDefined();
    expect(first.stderr).not.toContain('already had this call');
    const again = await asya(['call', 'analyze_text', '--text', 'calm and kind', '--idempotency-key', key], env);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toContain(`the gateway already had this call (idempotency key ${key}): following its envelope, nothing new started`);
    expect(again.stderr).toContain(`envelope ${id}`);
    expect(again.stdout).toBe(first.stdout);
    const other = await asya(['call', 'analyze_text', '--text', 'something else', '--idempotency-key', key], env);
    expect(other.status).toBe(2);
    expect(other.stderr).toContain(`refused the call to analyze_text: Idempotency key "${key}" was already used for a call of analyze_text with other arguments (envelope ${id})`);
    const bad = await asya(['call', 'analyze_text', '--text', 'x', '--idempotency-key', 'two words'], env);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('Invalid --idempotency-key: " " at position 4 is not allowed');
  });

  test('--idempotency-key: an answer lost on the way is asked for again, and the gateway starts nothing new', async () => {
    const proxy = await answerLosingProxy(dev.url);
    try {
      const key = `lost-${Date.now().toString(36)}`;
      const text = `steady and warm ${key}`;
      const run = await asya(['call', 'analyze_text', '--text', text, '--idempotency-key', key, '--gateway', proxy.url], env);
      expect(run.status, run.stderr).toBe(0);
      expect(run.stderr).toMatch(/asya call: cannot reach the gateway at .*; sending the call again with its idempotency key \(attempt 2 of 3\)/);
      expect(run.stderr).toContain(`the gateway already had this call (idempotency key ${key})`);
      expect(proxy.posts()).toBe(2);
      const listed = await fetch(`${dev.url}/envelopes?tool=analyze_text&limit=500`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const { envelopes } = (await listed.json()) as { envelopes: Array<{ id: string; status: string; payload: { text?: string } }> };
      const made = envelopes.filter((e) => e.payload.text === text);
      expect(made).toHaveLength(1);
      expect(made[0]).toMatchObject({ status: 'succeeded' });
      expect(run.stderr).toContain(`envelope ${made[0]!.id}`);
    } finally {
      await proxy.close();
    }
  });

  test('an unreachable gateway exits 3 and names the URL', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    for (const args of [['call', 'analyze_text', '--text', 'x'], ['call', 'analyze_text', '{"text": "x"}'], ['tools'], ['status', 'some-id']]) {
      const run = await asya([...args, '--gateway', url], env);
      expect(run.status, run.stderr).toBe(3);
      expect(run.stderr).toContain(`cannot reach the gateway at ${url} (ECONNREFUSED)`);
    }
  });

  test('without the token the gateway refuses (5); --token is enough', async () => {
    const refused = await asya(['call', 'analyze_text', '--text', 'x'], { ASYA_GATEWAY_URL: dev.url, ASYA_GATEWAY_API_TOKEN: '' });
    expect(refused.status).toBe(5);
    expect(refused.stderr).toMatch(/refused .*--token/);
    const given = await asya(['call', 'analyze_text', '--text', 'good', '--token', TOKEN], { ASYA_GATEWAY_URL: dev.url, ASYA_GATEWAY_API_TOKEN: '' });
    expect(given.status, given.stderr).toBe(0);
  });
});

describe('asya status and asya tools', () => {
  test('--no-wait prints the id; status shows it, --wait follows it to the end', async () => {
    const queued = await asya(['call', 'analyze_text', '--text', 'nice and easy', '--no-wait'], env);
    expect(queued.status, queued.stderr).toBe(0);
    const { envelope_id: id } = JSON.parse(queued.stdout) as { envelope_id: string };
    const waited = await asya(['status', id, '--wait'], env);
    expect(waited.status, waited.stderr).toBe(0);
    expect(JSON.parse(waited.stdout)).toMatchObject({ id, status: 'succeeded', progress_percent: 100 });
    const shown = await asya(['status', id], env);
    expect(shown.status).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ id, status: 'succeeded' });
  });

  test('an unknown envelope id exits 4', async () => {
    const run = await asya(['status', '00000000-0000-4000-8000-000000000000'], env);
    expect(run.status).toBe(4);
    expect(run.stderr).toContain('has no envelope 00000000-0000-4000-8000-000000000000');
  });

  test('tools lists every tool with the arguments call takes', async () => {
    const run = await asya(['tools'], env);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('analyze_text — Clean up a text');
    expect(run.stdout).toMatch(/--text <string>\s+The text to analyze \(required\)/);
    expect(run.stdout).toMatch(/--repeat <integer>\s+\(default 1\)/);
    expect(run.stdout).toMatch(/--tags <string\[\]>/);
    const json = await asya(['tools', '--json'], env);
    expect((JSON.parse(json.stdout) as Array<{ name: string }>).map((t) => t.name)).toEqual(['analyze_many', 'analyze_text']);
  });
});

test('every command and subcommand answers --help with its usage and exit 0', async () => {
  const commands = [['call'], ['status'], ['tools'], ['dev'], ['sidecar'], ['runtime'], ['gateway'], ['gateway', 'migrate'], ['crew'], ['crew', 'happy-end'], ['dlq'], ['dlq', 'list'], ['version'], ['help']];
  for (const command of commands) {
    const run = await asya([...command, '--help']);
    expect(run.status, `${command.join(' ')}: ${run.stderr}`).toBe(0);
    expect(run.stdout, command.join(' ')).toMatch(/^Usage:\s+asya/);
  }
  const top = await asya(['--help']);
  for (const name of ['dev', 'call', 'status', 'tools', 'sidecar', 'runtime', 'gateway', 'crew', 'dlq', 'version']) expect(top.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
});
