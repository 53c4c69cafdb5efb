/**
 * Runtime socket throughput: no-op requests per second for a raw socket echo (the baseline), our Python
 * runtime and our Node runtime, in the same run: one connection per request (the original protocol, which
 * the sidecar uses with runtimes that do not announce keep-alive), and through the sidecar's own client on
 * kept-alive connections (what it uses with ours; the echo keeps its connections too).
 * Set ASYA_ORIGINAL_RUNTIME=/path/to/original/asya_runtime.py to include the original.
 *
 *   npx tsx bench/runtime/run.ts [seconds-per-case]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { announcesKeepAlive } from '../../protocol/framing.ts';
import { fixtureHandler, startRuntime } from '../../test/support/runtime-process.ts';
import { runtimeCaller, type ConnectionMode } from '../../test/support/socket-client.ts';
import { ASYA_ENTRY, sidecarNodeArgs } from '../processes.ts';
import { printTable } from '../support.ts';

const seconds = Number(process.argv[2] ?? 5);
const request = { id: 'bench', route: { actors: ['a', 'b'], current: 0 }, payload: { text: 'x'.repeat(100) } };

async function measure(socketPath: string, concurrency: number, mode: ConnectionMode = 'per-request'): Promise<number> {
  const caller = runtimeCaller(mode);
  try {
    return await measureWith((path) => caller.call(path, request), socketPath, concurrency);
  } finally {
    caller.close();
  }
}

async function measureWith(ask: (socketPath: string) => Promise<unknown>, socketPath: string, concurrency: number): Promise<number> {
  for (let i = 0; i < 200; i++) await ask(socketPath); // warm-up
  let done = 0;
  const end = Date.now() + seconds * 1000;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        await ask(socketPath);
        done++;
      }
    }),
  );
  return done / ((Date.now() - started) / 1000);
}

const cases: Array<{ name: string; start: () => Promise<{ socketPath: string; readyFile: string; stop(): Promise<unknown> | void }> }> = [
  // The baseline runs in its own process too, so every case pays the same cross-process cost.
  { name: 'raw socket echo (baseline)', start: () => startRuntime('node', { handler: 'unused', command: [process.execPath, join(import.meta.dirname, 'raw-echo.mjs')] }) },
  { name: 'asya python runtime', start: () => startRuntime('python', { handler: fixtureHandler('python', 'echo'), env: { ASYA_LOG_LEVEL: 'INFO' } }) },
  // As the image runs it (dist/asya.js after `make build`, else the sources under tsx).
  { name: 'asya node runtime', start: () => startRuntime('node', { handler: fixtureHandler('node', 'echo'), env: { ASYA_LOG_LEVEL: 'INFO' }, command: [process.execPath, ...sidecarNodeArgs(), ASYA_ENTRY, 'runtime'] }) },
];
if (process.env.ASYA_ORIGINAL_RUNTIME) {
  cases.push({
    name: 'original python runtime',
    start: () => startRuntime('python', { handler: fixtureHandler('python', 'echo'), runtimeScript: process.env.ASYA_ORIGINAL_RUNTIME, env: { ASYA_LOG_LEVEL: 'INFO' } }),
  });
}

const rows = [];
let baseline = 0;
let keptBaseline = 0;
const percent = (value: number, base: number) => `${((value / base) * 100).toFixed(0)}%`;
for (const c of cases) {
  const target = await c.start();
  process.stderr.write(`measuring ${c.name} for ${seconds}s per column ...\n`);
  const rps = await measure(target.socketPath, 1);
  const rps4 = await measure(target.socketPath, 4);
  // The original runtime does not announce keep-alive, and the sidecar keeps one connection per request with it.
  const keeps = announcesKeepAlive(readFileSync(target.readyFile, 'utf8'));
  const kept = keeps ? await measure(target.socketPath, 1, 'keep-alive') : Number.NaN;
  const kept4 = keeps ? await measure(target.socketPath, 4, 'keep-alive') : Number.NaN;
  await target.stop();
  if (!baseline) [baseline, keptBaseline] = [rps, kept];
  rows.push({
    case: c.name,
    'req/s (1 conn)': Math.round(rps),
    'req/s (4 conns)': Math.round(rps4),
    'vs baseline': percent(rps, baseline),
    'kept alive: req/s (1 conn)': keeps ? Math.round(kept) : '–',
    'kept alive: req/s (4 conns)': keeps ? Math.round(kept4) : '–',
    'kept alive: vs baseline': keeps ? percent(kept, keptBaseline) : '–',
  });
}
printTable(`Runtime no-op requests per second (${seconds}s per case, node ${process.version})`, rows);
