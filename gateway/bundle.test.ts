/**
 * The gateway as the container image runs it: the CLI bundled into one directory (cli/build.ts, which the
 * Makefile and the Dockerfile run), with none of the source tree beside it. Anything the gateway reads from a
 * path relative to its own source file breaks only here.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestSchema } from '../test/support/postgres.ts';
import { RABBITMQ_URL } from '../test/support/rabbitmq.ts';
import pkg from '../package.json' with { type: 'json' };
import { buildCli } from '../cli/build.ts';
import { MIGRATIONS } from './store/migrations/index.ts';
import { testSchema, waitUntil } from '../test/support/gateway-harness.ts';

const ROOT = resolve(import.meta.dirname, '..');
let outdir: string;
let schema: TestSchema;

beforeAll(async () => {
  // Inside node_modules so the bundle's external packages resolve, as they do from /app/dist in the image.
  const cache = join(ROOT, 'node_modules', '.cache');
  await mkdir(cache, { recursive: true });
  outdir = await mkdtemp(join(cache, 'asya-gateway-bundle-'));
  await buildCli(outdir);
  schema = await testSchema('bundle');
});

afterAll(async () => {
  await schema?.drop();
  if (outdir) await rm(outdir, { recursive: true, force: true });
});

function runBundle(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [join(outdir, 'asya.js'), ...args], {
    env: { PATH: process.env.PATH ?? '', ASYA_LOG_LEVEL: 'INFO', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((done) => child.once('exit', done));
  return { stderr: () => stderr, exited, kill: () => child.kill('SIGTERM') };
}

describe('the bundled gateway', () => {
  it('applies its migrations', async () => {
    const migrate = runBundle(['gateway', 'migrate'], { ASYA_DATABASE_URL: schema.url, ASYA_DATABASE_SCHEMA: schema.name });
    expect(await migrate.exited, migrate.stderr()).toBe(0);
    const sql = postgres(schema.url, { max: 1, onnotice: () => {} });
    try {
      const rows = await sql`select version from ${sql(schema.name)}.schema_migrations order by version`;
      expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    } finally {
      await sql.end();
    }
  });

  it('serves, reports ready and names its version over MCP', async () => {
    const gw = runBundle(['gateway'], {
      ASYA_GATEWAY_HOST: '127.0.0.1', ASYA_GATEWAY_PORT: '0', ASYA_GATEWAY_AUTH: 'none', ASYA_DATABASE_URL: schema.url, ASYA_DATABASE_SCHEMA: schema.name,
      ASYA_TRANSPORT: 'rabbitmq', ASYA_RABBITMQ_URL: RABBITMQ_URL,
    });
    try {
      let port = '';
      await waitUntil(() => (port = /listening on 127\.0\.0\.1:(\d+)/.exec(gw.stderr())?.[1] ?? '') !== '', 15_000, `listening (${gw.stderr()})`);
      const url = `http://127.0.0.1:${port}`;
      await waitUntil(async () => (await fetch(`${url}/ready`)).status === 200, 15_000, 'ready');
      const init = await fetch(`${url}/mcp`, {
        method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
      });
      expect(((await init.json()) as { result: { serverInfo: unknown } }).result.serverInfo).toEqual({ name: 'asya-gateway', version: pkg.version });
    } finally {
      gw.kill();
      await gw.exited;
    }
  });
});
