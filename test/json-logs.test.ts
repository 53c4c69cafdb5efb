/**
 * ASYA_LOG_FORMAT=json, proven on a real pipeline: `asya dev --log-format json` on a copy of examples/hello (Python → TypeScript
 * → Python runtimes as child processes, the gateway, the sidecars, the crew and its Node runtimes), at DEBUG so
 * every component speaks. Every line of the run, stdout and stderr, must be a JSON object with the required
 * fields, and the lines about a call sent with a traceparent (REST and MCP) must carry its trace id.
 *
 * Without a tracing SDK registered no span is active, so the trace id comes from the envelope's
 * traceparent in every component; protocol/log.test.ts proves the active-span path through @opentelemetry/api.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CREW_ROLES } from '../cli/crew.ts';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { asya, copyExample, editFile, startDev, type DevProcess } from './support/dev-process.ts';

/** Every non-empty line of `text` parsed as JSON; a line that is not names itself and shows `text` as `what`. */
function jsonLines(text: string, what: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`not a JSON line: ${line}\n\n${what}:\n${text}`);
      }
    });
}

const example = copyExample('hello');
let dev: DevProcess;
let lines: Array<Record<string, unknown>> = [];
const calls: Record<'rest' | 'mcp' | 'failing' | 'untraced', { id: string; traceId?: string }> = {} as never;

const traceparent = (traceId: string) => `00-${traceId}-${'1'.repeat(16)}-01`;
const TRACES = { rest: 'a'.repeat(31) + '1', mcp: 'b'.repeat(31) + '2', failing: 'c'.repeat(31) + '3' };

async function restCall(text: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${dev.url}/tools/call`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ name: 'analyze_text', arguments: { text } }),
  });
  const body = (await res.json()) as { content: Array<{ text: string }> };
  expect(res.status).toBe(200);
  return (JSON.parse(body.content[0]!.text) as { envelope_id: string }).envelope_id;
}

async function finalStatus(id: string): Promise<string> {
  return vi.waitFor(
    async () => {
      const { status } = (await (await fetch(`${dev.url}/envelopes/${id}`)).json()) as { status: string };
      if (status !== 'succeeded' && status !== 'failed') throw new Error(`envelope ${id} is still ${status}`);
      return status;
    },
    { timeout: 60_000, interval: 100 },
  );
}

beforeAll(async () => {
  // The runtimes at DEBUG too (dev mode starts them at WARNING unless the manifest says otherwise).
  const actors = join(example.dir, 'actors');
  for (const file of readdirSync(actors).filter((f) => f !== 'kustomization.yaml')) {
    editFile(join(actors, file), (text) => text.replace(/\n(\s+)- name: ASYA_HANDLER\n(\s+)value: ([^\n]+)/, '\n$1- name: ASYA_HANDLER\n$2value: $3\n$1- name: ASYA_LOG_LEVEL\n$2value: DEBUG'));
  }
  // The flag, not ASYA_LOG_FORMAT: it must reach every component and the process's own output as the variable does.
  dev = await startDev(example.dir, ['--data-dir', join(example.dir, '.store'), '--no-table', '--log-format', 'json'], { ASYA_LOG_LEVEL: 'DEBUG' });

  calls.rest = { id: await restCall('Asya makes pipelines easy', { traceparent: traceparent(TRACES.rest) }), traceId: TRACES.rest };
  calls.failing = { id: await restCall('   ', { traceparent: traceparent(TRACES.failing) }), traceId: TRACES.failing };
  calls.untraced = { id: await restCall('no trace here') };
  const client = new Client({ name: 'asya-json-logs-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${dev.url}/mcp`), { requestInit: { headers: { traceparent: traceparent(TRACES.mcp) } } }));
  const answer = await client.callTool({ name: 'analyze_text', arguments: { text: 'through MCP' } });
  await client.close();
  const [content] = answer.content as Array<{ text: string }>;
  calls.mcp = { id: (JSON.parse(content!.text) as { envelope_id: string }).envelope_id, traceId: TRACES.mcp };

  expect(await finalStatus(calls.rest.id)).toBe('succeeded');
  expect(await finalStatus(calls.untraced.id)).toBe('succeeded');
  expect(await finalStatus(calls.mcp.id)).toBe('succeeded');
  expect(await finalStatus(calls.failing.id)).toBe('failed');
  // The drain stops every component, so their last lines are in the output too.
  expect(await dev.stop()).toBe(0);
  lines = jsonLines(dev.output(), 'whole output');
}, 240_000);

afterAll(async () => {
  await dev?.stop();
  example.cleanup();
});

const about = (id: string) => lines.filter((l) => l.envelope_id === id);

test('every line of every process is one JSON object with time, level, component and message', () => {
  expect(lines.length).toBeGreaterThan(20);
  for (const line of lines) {
    expect(line, JSON.stringify(line)).toMatchObject({ time: expect.any(String), level: expect.stringMatching(/^(DEBUG|INFO|WARNING|ERROR)$/), component: expect.any(String), message: expect.any(String) });
    expect(new Date(line.time as string).toISOString(), JSON.stringify(line)).toBe(line.time);
  }
  // Runtime lines arrive already JSON: dev mode wraps a line only when a child printed plain text.
  expect(lines.filter((l) => l.output === 'unstructured')).toEqual([]);
  const components = new Set(lines.map((l) => l.component));
  for (const c of ['dev', 'gateway', 'sidecar', 'runtime', 'crew']) expect(components, c).toContain(c);
  // Each sidecar names its actor; the Python runtimes (pid) and the Node runtime both logged.
  expect(new Set(lines.filter((l) => l.component === 'sidecar').map((l) => l.actor))).toEqual(new Set(['normalize', 'sentiment', 'report']));
  expect(new Set(lines.filter((l) => l.component === 'crew').map((l) => l.actor))).toEqual(new Set(CREW_ROLES));
  const runtimeActors = new Set(lines.filter((l) => l.component === 'runtime' && l.envelope_id === calls.rest.id).map((l) => l.actor));
  expect(runtimeActors).toEqual(new Set(['normalize', 'sentiment', 'report', undefined]));
});

test.each(['rest', 'mcp', 'failing'] as const)('the lines of the %s call carry its trace id, from every component on its way', (name) => {
  const { id, traceId } = calls[name];
  const mine = about(id);
  expect(mine.filter((l) => l.trace_id !== traceId)).toEqual([]);
  const components = new Set(mine.map((l) => l.component));
  for (const c of ['gateway', 'sidecar', 'runtime', 'crew']) expect(components, `${c} in ${JSON.stringify(mine)}`).toContain(c);
  // No other call's lines carry this trace.
  expect(lines.filter((l) => l.trace_id === traceId && l.envelope_id !== id)).toEqual([]);
});

test('a failing handler is an ERROR line of its runtime, and error-end says what it did, both in the trace', () => {
  const mine = about(calls.failing.id);
  expect(mine.filter((l) => l.level === 'ERROR' && l.component === 'runtime' && l.actor === 'normalize' && String(l.message).startsWith('Handler failed'))).toHaveLength(1);
  expect(mine.some((l) => l.component === 'crew' && l.actor === 'error-end' && String(l.message).includes('at normalize'))).toBe(true);
});

test('a call sent without a traceparent has no trace id on its lines', () => {
  const mine = about(calls.untraced.id);
  expect(mine.length).toBeGreaterThan(0);
  expect(mine.filter((l) => 'trace_id' in l || 'span_id' in l)).toEqual([]);
});

describe('each service command on its own: startup failures and settings warnings are JSON too', () => {
  // ASYA_LOG_LEVEL=loud is read leniently (a WARNING line from the settings reader); the other variable stops startup.
  const cases: Array<[string, string[], Record<string, string>]> = [
    ['sidecar', ['sidecar'], {}],
    ['gateway', ['gateway'], { ASYA_GATEWAY_PORT: 'not-a-port' }],
    ['crew', ['crew', 'happy-end'], { ASYA_RUNTIME_TIMEOUT: 'soon' }],
    ['controller', ['controller'], { ASYA_RESYNC_INTERVAL: 'often' }],
    ['runtime', ['runtime'], { ASYA_HANDLER: 'missing.ts#process' }],
  ];
  test.each(cases)('asya %s', async (component, args, env) => {
    const run = await asya(args, { ASYA_LOG_FORMAT: 'json', ASYA_LOG_LEVEL: 'loud', ASYA_ACTOR_NAME: '', ...env });
    expect(run.status, run.stderr).not.toBe(0);
    expect(run.stdout).toBe('');
    const parsed = jsonLines(run.stderr, 'stderr');
    expect(parsed.filter((l) => l.level === 'ERROR' && l.component === component), run.stderr).toHaveLength(1);
    expect(parsed.some((l) => l.level === 'WARNING' && String(l.message).includes('ASYA_LOG_LEVEL')), run.stderr).toBe(true);
  });

  test('asya dev --log-format json: a dev session that cannot start says so in JSON, its last line an ERROR', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'asya-json-empty-'));
    try {
      const run = await asya(['dev', empty, '--log-format', 'json', '--port', '0', '--data-dir', join(empty, '.store')]);
      expect(run.status, run.stderr).toBe(1);
      const parsed = `${run.stdout}${run.stderr}`
        .split('\n')
        .filter((l) => l !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(parsed.at(-1), run.stderr).toMatchObject({ level: 'ERROR', component: 'dev', message: `no AsyncActor manifests found under ${empty}` });
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  test('asya dev --log-format refuses what ASYA_LOG_FORMAT refuses', async () => {
    const run = await asya(['dev', example.dir, '--log-format', 'xml']);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--log-format "xml": expected text or json');
  });
});
