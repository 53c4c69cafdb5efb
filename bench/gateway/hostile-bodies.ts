/**
 * The gateway's memory under hostile request bodies, against real PostgreSQL and RabbitMQ, the gateway in
 * its own process (`asya gateway`) with tokens set:
 *  - 40 anonymous uploads that send up to 10 MiB chunked and then stall, never finishing;
 *  - at the same time, 10 concurrent authorised tool calls of ~9.9 MB each, retried after Retry-After
 *    when the gateway answers 503.
 * Reports the gateway's RSS at rest before the load and its peak RSS (VmHWM) after it, for each
 * ASYA_GATEWAY_BODY_BUDGET_BYTES given (default: the gateway's default, and 1 GiB for "no budget").
 *
 *   npx tsx bench/gateway/hostile-bodies.ts [budget-bytes ...]
 *
 * ASYA_BENCH_GATEWAY_ROOT=<dir> runs the gateway from another checkout (e.g. `git archive main` unpacked
 * there, node_modules linked), to measure the code before a change the same way.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { queueName } from '../../protocol/queues.ts';
import { createTestSchema } from '../../test/support/postgres.ts';
import { RABBITMQ_URL } from '../../test/support/rabbitmq.ts';
import { RabbitMqTransport } from '../../transport/rabbitmq/rabbitmq.ts';
import { printTable, rssMiB } from '../support.ts';
import { errorText } from '../../protocol/errors.ts';

const MiB = 1024 * 1024;
const STALLED = 40;
const CALLERS = 10;
const CALL_BYTES = 9_900_000;
const TOKEN = 'bench-client-token';
const budgets = process.argv.slice(2).map(Number);
const ROOT = resolve(process.env.ASYA_BENCH_GATEWAY_ROOT ?? join(import.meta.dirname, '../..'));

function peakRssMiB(pid: number): number {
  return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
}

interface Gateway {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

async function startGatewayProcess(env: Record<string, string>): Promise<Gateway> {
  const script = `import(${JSON.stringify(join(ROOT, 'cli/gateway.ts'))}).then((m) => m.runGateway([]))`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ASYA_LOG_LEVEL: 'INFO', ASYA_GATEWAY_HOST: '127.0.0.1', ASYA_GATEWAY_PORT: '0', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const url = await new Promise<string>((resolveUrl, reject) => {
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const port = /listening on 127\.0\.0\.1:(\d+)/.exec(err)?.[1];
      if (port) resolveUrl(`http://127.0.0.1:${port}`);
    });
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}: ${err}`)));
  });
  while ((await fetch(`${url}/ready`)).status !== 200) await new Promise((r) => setTimeout(r, 100));
  return {
    url,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** An anonymous chunked upload that sends up to 10 MiB as fast as the gateway takes it, then stalls. */
function stalledUpload(url: URL): { answered: Promise<number>; destroy(): void } {
  const req = http.request({ host: url.hostname, port: url.port, method: 'POST', path: '/tools/call', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } });
  const answered = new Promise<number>((resolveStatus) => {
    req.once('response', (res) => (res.resume(), resolveStatus(res.statusCode ?? 0)));
    req.once('error', () => resolveStatus(0));
  });
  const chunk = Buffer.alloc(256 * 1024, 'x');
  let sent = 0;
  const pump = () => {
    while (sent < 10 * MiB && !req.destroyed) {
      sent += chunk.length;
      if (!req.write(chunk)) return void req.once('drain', pump);
    }
  };
  req.write('{"name": "big", "arguments": {"text": "');
  pump();
  return { answered, destroy: () => req.destroy() };
}

/** One authorised ~9.9 MB call, retried after Retry-After while the gateway answers 503. */
async function bigCall(url: string, body: string): Promise<{ status: number; attempts: number }> {
  for (let attempts = 1; ; attempts++) {
    const res = await fetch(`${url}/tools/call`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body }).catch(
      (err: Error) => (console.error(`call failed: ${err.message} (${String(errorText(err.cause))})`), undefined),
    );
    if (!res) return { status: 0, attempts };
    await res.arrayBuffer();
    if (res.status !== 503 || attempts >= 60) return { status: res.status, attempts };
    await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after') ?? '1') * 1000));
  }
}

const schema = await createTestSchema('asya_bench_bodies');
const actor = `bench-bodies-${randomUUID().slice(0, 8)}`;
const transport = await RabbitMqTransport.connect({ url: RABBITMQ_URL, connectionName: 'bench-bodies' });
await transport.ensureQueue(queueName(actor));
const dir = await mkdtemp(join(tmpdir(), 'asya-bench-bodies-'));
await writeFile(join(dir, 'tools.yaml'), `tools:\n- name: big\n  parameters: {text: {type: string, required: true}}\n  route: [${actor}]\n`);
const rows: Array<Record<string, string | number>> = [];

try {
  for (const budget of budgets.length > 0 ? budgets : [Number.NaN, 1024 * MiB]) {
    const gateway = await startGatewayProcess({
      ASYA_CONFIG_PATH: join(dir, 'tools.yaml'), ASYA_DATABASE_URL: schema.url, ASYA_DATABASE_SCHEMA: schema.name,
      ASYA_TRANSPORT: 'rabbitmq', ASYA_RABBITMQ_URL: RABBITMQ_URL,
      ASYA_GATEWAY_API_TOKEN: TOKEN, ASYA_GATEWAY_TOKEN: 'bench-internal-token',
      ...(Number.isNaN(budget) ? {} : { ASYA_GATEWAY_BODY_BUDGET_BYTES: String(budget) }),
    });
    try {
      const body = JSON.stringify({ name: 'big', arguments: { text: 'y'.repeat(CALL_BYTES - 40) } });
      await bigCall(gateway.url, JSON.stringify({ name: 'big', arguments: { text: 'warm up' } }));
      const atRest = rssMiB(gateway.pid);
      const stalled = Array.from({ length: STALLED }, () => stalledUpload(new URL(gateway.url)));
      const calls = await Promise.all(Array.from({ length: CALLERS }, () => bigCall(gateway.url, body)));
      const stalledStatuses = await Promise.all(stalled.map((s) => Promise.race([s.answered, new Promise<number>((r) => setTimeout(() => r(-1), 5000))])));
      const peak = peakRssMiB(gateway.pid);
      for (const s of stalled) s.destroy();
      rows.push({
        budget: Number.isNaN(budget) ? 'default' : `${Math.round(budget / MiB)} MiB`,
        'rss at rest MiB': atRest,
        'peak rss MiB': peak,
        'calls ok': calls.filter((c) => c.status === 200).length,
        '503 retries': calls.reduce((n, c) => n + c.attempts - 1, 0),
        'stalled refused (401)': stalledStatuses.filter((s) => s === 401).length,
        'stalled unanswered': stalledStatuses.filter((s) => s === -1).length,
      });
    } finally {
      await gateway.stop();
      // 10 × 9.9 MB per run would pile up in the broker otherwise.
      await transport.deleteQueue(queueName(actor));
      await transport.ensureQueue(queueName(actor));
    }
  }
  printTable(`Gateway memory under hostile bodies (${STALLED} stalled anonymous 10 MiB uploads + ${CALLERS} concurrent authorised ${(CALL_BYTES / 1e6).toFixed(1)} MB calls)`, rows);
} finally {
  await transport.deleteQueue(queueName(actor)).catch(() => {});
  await transport.close();
  await schema.drop();
  await rm(dir, { recursive: true, force: true });
}
