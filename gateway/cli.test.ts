/** `asya gateway` as a process: starts from the environment, serves, drains on SIGTERM; `migrate`; bad config. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestSchema } from '../test/support/postgres.ts';
import { MIGRATIONS } from './store/migrations/index.ts';
import { runGatewayProcess, testSchema, waitUntil } from './test-harness.ts';

let schema: TestSchema;
let dir: string;

beforeAll(async () => {
  schema = await testSchema('cli');
  dir = await mkdtemp(join(tmpdir(), 'asya-gw-cli-'));
  await writeFile(join(dir, 'tools.yaml'), 'tools:\n- name: echo\n  route: [echo]\n');
  await writeFile(join(dir, 'broken.yaml'), 'tools:\n- name: echo\n  route: [echo]\n  retries: 3\n');
});

afterAll(async () => {
  await schema?.drop();
  await rm(dir, { recursive: true, force: true });
});

function run(args: string[], env: Record<string, string>) {
  const gw = runGatewayProcess(args, env);
  return { ...gw, stderr: gw.output };
}

const baseEnv = () => ({
  ASYA_GATEWAY_HOST: '127.0.0.1', ASYA_GATEWAY_PORT: '0', ASYA_TRANSPORT: 'memory', ASYA_GATEWAY_AUTH: 'none',
  ASYA_DATABASE_URL: schema.url, ASYA_DATABASE_SCHEMA: schema.name,
});

describe('asya gateway', () => {
  it('serves from its environment and drains on SIGTERM with exit code 0', async () => {
    const gw = run(['--config', join(dir, 'tools.yaml')], baseEnv());
    try {
      await waitUntil(() => /listening on 127\.0\.0\.1:\d+/.test(gw.stderr()), 30_000, 'gateway start');
      const port = /listening on 127\.0\.0\.1:(\d+)/.exec(gw.stderr())![1];
      const url = `http://127.0.0.1:${port}`;
      expect((await fetch(`${url}/health`)).status).toBe(200);
      await waitUntil(async () => (await fetch(`${url}/ready`)).status === 200, 10_000, 'ready');
      const res = await fetch(`${url}/mcp`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'cli-test', version: '1' } } }),
      });
      expect(res.status).toBe(200);
      expect(gw.stderr()).toContain('(1 tools, transport memory)');
    } finally {
      gw.kill('SIGTERM');
    }
    expect(await gw.exited).toBe(0);
    expect(gw.stderr()).toContain('SIGTERM: shutting down');
  });

  it('refuses to start with no token unless auth none is said, and with a client token but no internal one', async () => {
    const { ASYA_GATEWAY_AUTH: _open, ...closed } = baseEnv();
    const none = run([], closed);
    expect(await none.exited).toBe(1);
    expect(none.stderr()).toContain('asya gateway: no tokens configured: set ASYA_GATEWAY_TOKEN (sidecars and crew) and ASYA_GATEWAY_API_TOKEN');
    expect(none.stderr()).toContain('or set ASYA_GATEWAY_AUTH=none to run with every endpoint open (development only)');
    expect(none.stderr()).not.toMatch(/listening on/);
    const half = run([], { ...closed, ASYA_GATEWAY_API_TOKEN: 'client-only' });
    expect(await half.exited).toBe(1);
    expect(half.stderr()).toContain('asya gateway: a client token is configured but ASYA_GATEWAY_TOKEN is not');
    expect(half.stderr()).not.toContain('client-only');
  });

  it('says loudly that auth none leaves every endpoint open', async () => {
    const gw = run([], baseEnv());
    try {
      await waitUntil(() => /listening on 127\.0\.0\.1:\d+/.test(gw.stderr()), 30_000, 'gateway start');
      expect(gw.stderr()).toMatch(/WARNING asya\.gateway: ASYA_GATEWAY_AUTH=none: every endpoint is open to anyone/);
    } finally {
      gw.kill('SIGTERM');
    }
    expect(await gw.exited).toBe(0);
  });

  it('refuses a broken tools file with its position and exit code 1', async () => {
    const gw = run(['--config', join(dir, 'broken.yaml')], baseEnv());
    expect(await gw.exited).toBe(1);
    expect(gw.stderr()).toContain(`asya gateway: ${join(dir, 'broken.yaml')}:4:3: tools[echo]: unknown key "retries"`);
  });

  it('refuses a bad variable, naming it', async () => {
    const gw = run([], { ...baseEnv(), ASYA_GATEWAY_MAX_BODY_BYTES: 'lots' });
    expect(await gw.exited).toBe(1);
    expect(gw.stderr()).toContain('asya gateway: Invalid ASYA_GATEWAY_MAX_BODY_BYTES="lots": expected an integer >= 1');
  });

  it('with auto-migrate off on an empty schema it runs but is not ready until `migrate` has run', async () => {
    const fresh = await testSchema('cli_unmigrated');
    const env = { ...baseEnv(), ASYA_DATABASE_URL: fresh.url, ASYA_DATABASE_SCHEMA: fresh.name, ASYA_GATEWAY_AUTO_MIGRATE: 'false' };
    const gw = run(['--config', join(dir, 'tools.yaml')], env);
    try {
      await waitUntil(() => /listening on 127\.0\.0\.1:\d+/.test(gw.stderr()), 30_000, 'gateway start');
      const url = `http://127.0.0.1:${/listening on 127\.0\.0\.1:(\d+)/.exec(gw.stderr())![1]}`;
      // The store connects in the background: until it has, /ready says the store is unreachable.
      let body: unknown;
      await waitUntil(async () => {
        const res = await fetch(`${url}/ready`);
        body = { code: res.status, ...((await res.json()) as object) };
        return (body as { error?: string }).error !== 'envelope store unreachable';
      }, 10_000, 'store connected');
      expect(body).toEqual({ code: 503, status: 'not ready', error: `database schema is behind: migration(s) ${MIGRATIONS.map((m) => m.version).join(', ')} not applied (asya gateway migrate)` });
      const migrate = run(['migrate'], { ASYA_DATABASE_URL: fresh.url, ASYA_DATABASE_SCHEMA: fresh.name });
      expect(await migrate.exited).toBe(0);
      await waitUntil(async () => (await fetch(`${url}/ready`)).status === 200, 10_000, 'ready after migrate');
    } finally {
      gw.kill('SIGTERM');
      await gw.exited;
      await fresh.drop();
    }
  });

  it('migrate applies the schema and exits', async () => {
    const fresh = await testSchema('cli_migrate');
    try {
      const gw = run(['migrate'], { ASYA_DATABASE_URL: fresh.url, ASYA_DATABASE_SCHEMA: fresh.name });
      expect(await gw.exited).toBe(0);
      expect(gw.stderr()).toContain(`migrations applied; the schema ${fresh.name} is up to date`);
      const sql = postgres(fresh.url, { max: 1, onnotice: () => {} });
      try {
        const rows = await sql`select version from ${sql(fresh.name)}.schema_migrations order by version`;
        expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
      } finally {
        await sql.end();
      }
      const without = run(['migrate'], {});
      expect(await without.exited).toBe(1);
      expect(without.stderr()).toContain('migrate needs ASYA_DATABASE_URL');
    } finally {
      await fresh.drop();
    }
  });
});
