/**
 * `asya dev` with 1 to 100 actors in one process: time to ready, memory, and tool calls per second and p99
 * spread over every actor. Each actor is a Python handler that returns its payload (Python runtimes are the
 * lighter ones, so the count is not bounded by Node runtimes' memory). The baseline, in the same run, is
 * the floor of what N runtimes cost: N bare python3 processes that each bind a Unix socket and say so.
 * Throughput has no raw counterpart (nothing else runs a gateway, a transport and N sidecars); it is read
 * against the curve's first point instead.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { actorManifest } from '../../test/support/new-project.ts';
import { BenchClient } from '../gateway/http-client.ts';
import { startDevProject } from '../processes.ts';
import { descendants } from '../../test/support/process-tree.ts';
import { rssMiB } from '../support.ts';
import { closedLoop } from './closed-loop.ts';
import { loopValues, type Curve, type CurveSession } from './curve.ts';

const CONCURRENCY = 4;
const PAYLOAD = 'x'.repeat(100);
const READY_TIMEOUT_MS = 600_000;

function writeProject(actors: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'asya-bench-dev-actors-'));
  writeFileSync(join(dir, 'echo.py'), 'def process(payload):\n    return payload\n');
  const tools: string[] = ['tools:'];
  for (let i = 1; i <= actors; i++) {
    writeFileSync(join(dir, `actor-${i}.yaml`), actorManifest(`actor-${i}`, 'echo.process'));
    tools.push(`- name: t${i}`, '  parameters: {text: {type: string, required: true}}', `  route: [actor-${i}]`, '  timeout: 600');
  }
  writeFileSync(join(dir, 'tools.yaml'), `${tools.join('\n')}\n`);
  return dir;
}

/** RSS of the process and every descendant, MiB; a process that ended meanwhile counts 0. */
function treeRssMiB(pid: number): number {
  return [pid, ...descendants(pid)].reduce((sum, p) => {
    try {
      return sum + rssMiB(p);
    } catch {
      return sum;
    }
  }, 0);
}

/** The floor: N python3 processes that each bind a Unix socket, as a runtime does before it is ready. */
async function bareRuntimes(n: number): Promise<{ readyMs: number; rssMiB: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'asya-bench-bare-py-'));
  const script = 'import socket, sys\ns = socket.socket(socket.AF_UNIX)\ns.bind(sys.argv[1])\ns.listen()\nprint("ready", flush=True)\nsys.stdin.read()\n';
  const started = performance.now();
  const children = Array.from({ length: n }, (_, i) => spawn('python3', ['-c', script, join(dir, `${i}.sock`)], { stdio: ['pipe', 'pipe', 'inherit'] }));
  try {
    await Promise.all(children.map((child) => new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`a bare python3 exited with ${code}`)));
    })));
    const readyMs = performance.now() - started;
    return { readyMs, rssMiB: children.reduce((sum, c) => sum + rssMiB(c.pid!), 0) };
  } finally {
    await Promise.all(children.map((c) => new Promise<void>((resolve) => {
      if (c.exitCode !== null) return resolve();
      c.once('exit', () => resolve());
      c.stdin.end();
    })));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measureDev(actors: number, seconds: number): Promise<Record<string, number>> {
  const dir = writeProject(actors);
  const started = performance.now();
  const dev = await startDevProject(dir).catch((err: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  const readyMs = performance.now() - started;
  const client = new BenchClient(dev.url, 64);
  const json = { 'content-type': 'application/json' };
  try {
    const rssAtReady = treeRssMiB(dev.pid);
    const m = await closedLoop(async (i) => {
      const res = await client.request('POST', '/tools/call', JSON.stringify({ name: `t${(Math.abs(i) % actors) + 1}`, arguments: { text: PAYLOAD } }), json);
      if (res.status !== 200 || res.text.includes('"isError":true')) throw new Error(`tools/call answered ${res.status}: ${res.text.slice(0, 300)}`);
      const id = (JSON.parse((JSON.parse(res.text) as { content: Array<{ text: string }> }).content[0]!.text) as { envelope_id: string }).envelope_id;
      const stream = await client.request('GET', `/envelopes/${id}/stream`);
      if (!stream.text.includes('"status":"succeeded"')) throw new Error(`envelope ${id} did not succeed: ${stream.text.slice(-300)}`);
    }, { concurrency: CONCURRENCY, seconds, minCalls: Math.min(actors, 50), warmupCalls: 2 });
    return {
      ...loopValues('asya', m),
      'asya ready': readyMs,
      'asya tree RSS': Math.max(rssAtReady, treeRssMiB(dev.pid)),
      'asya dev RSS': rssMiB(dev.pid),
    };
  } finally {
    client.close();
    await dev.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const devActorsCurve: Curve = {
  name: 'dev-actors',
  title: 'Actors in one asya dev',
  method:
    '`asya dev` (bin/asya.js, in-memory transport, embedded gateway on PGlite) on a project of n actors, each a Python handler ' +
    'returning its payload, with one tool per actor; a new project and process per point. Time to ready: from spawning ' +
    '`asya dev` to its ready line (every runtime started). Then tool calls round-robin over the actors, closed loop with ' +
    `${CONCURRENCY} in flight, each \`POST /tools/call\` then its SSE stream to the final. RSS: \`asya dev\` with its runtimes and ` +
    'crew (the tree), and the `asya dev` process alone. Baseline in the same run: n bare python3 processes, each binding a Unix ' +
    'socket (the floor of starting n runtimes): their time to all ready and their RSS.',
  x: { label: 'actors', log: false, format: String },
  points: { full: [1, 10, 25, 50, 75, 100], quick: [1, 10, 50, 100] },
  panels: [
    { title: 'throughput', unit: 'calls/s', series: [{ key: 'asya/s', label: 'Asya' }] },
    { title: 'p99 latency', unit: 'ms', series: [{ key: 'asya p99', label: 'Asya' }] },
    { title: 'time to ready', unit: 'ms', series: [{ key: 'asya ready', label: 'asya dev' }, { key: 'raw ready', label: 'bare python3 ×n' }] },
    { title: 'memory (RSS)', unit: 'MiB', series: [{ key: 'asya tree RSS', label: 'asya dev + runtimes' }, { key: 'asya dev RSS', label: 'asya dev alone' }, { key: 'raw RSS', label: 'bare python3 ×n' }] },
  ],
  ratios: [
    { label: 'calls/s ÷ first point', of: 'asya/s', to: 'first asya/s' },
    { label: 'ready ÷ bare', of: 'asya ready', to: 'raw ready' },
    { label: 'RSS ÷ bare', of: 'asya tree RSS', to: 'raw RSS' },
  ],
  async open(context): Promise<CurveSession> {
    let first: number | undefined;
    return {
      async measure(actors) {
        context.log(`  asya dev with ${actors} actor(s) ...`);
        const dev = await Promise.race([
          measureDev(actors, context.seconds),
          new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`asya dev with ${actors} actors took over ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS).unref()),
        ]);
        first ??= dev['asya/s']!;
        context.log(`  ${actors} bare python3 process(es) ...`);
        const bare = await bareRuntimes(actors);
        return { ...dev, 'first asya/s': first, 'raw ready': bare.readyMs, 'raw RSS': bare.rssMiB };
      },
      async close() {},
    };
  },
};
