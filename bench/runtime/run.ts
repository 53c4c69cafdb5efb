/**
 * Runtime socket throughput: no-op requests per second, one connection per request as the sidecar does,
 * for a raw socket echo (the baseline), our Python runtime and our Node runtime, in the same run.
 * Set ASYA_ORIGINAL_RUNTIME=/path/to/original/asya_runtime.py to include the original.
 *
 *   npx tsx bench/runtime/run.ts [seconds-per-case]
 */
import { join } from 'node:path';
import { fixtureHandler, startRuntime } from '../../test/support/runtime-process.ts';
import { call } from '../../test/support/socket-client.ts';
import { printTable } from '../support.ts';

const seconds = Number(process.argv[2] ?? 5);
const request = { id: 'bench', route: { actors: ['a', 'b'], current: 0 }, payload: { text: 'x'.repeat(100) } };

async function measure(socketPath: string, concurrency: number): Promise<number> {
  for (let i = 0; i < 200; i++) await call(socketPath, request); // warm-up
  let done = 0;
  const end = Date.now() + seconds * 1000;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        await call(socketPath, request);
        done++;
      }
    }),
  );
  return done / ((Date.now() - started) / 1000);
}

const cases: Array<{ name: string; start: () => Promise<{ socketPath: string; stop(): Promise<unknown> | void }> }> = [
  // The baseline runs in its own process too, so every case pays the same cross-process cost.
  { name: 'raw socket echo (baseline)', start: () => startRuntime('node', { handler: 'unused', command: [process.execPath, join(import.meta.dirname, 'raw-echo.mjs')] }) },
  { name: 'asya python runtime', start: () => startRuntime('python', { handler: fixtureHandler('python', 'echo'), env: { ASYA_LOG_LEVEL: 'INFO' } }) },
  { name: 'asya node runtime', start: () => startRuntime('node', { handler: fixtureHandler('node', 'echo'), env: { ASYA_LOG_LEVEL: 'INFO' } }) },
];
if (process.env.ASYA_ORIGINAL_RUNTIME) {
  cases.push({
    name: 'original python runtime',
    start: () => startRuntime('python', { handler: fixtureHandler('python', 'echo'), runtimeScript: process.env.ASYA_ORIGINAL_RUNTIME, env: { ASYA_LOG_LEVEL: 'INFO' } }),
  });
}

const rows = [];
let baseline = 0;
for (const c of cases) {
  const target = await c.start();
  process.stderr.write(`measuring ${c.name} for ${seconds}s ...\n`);
  const rps = await measure(target.socketPath, 1);
  const rps4 = await measure(target.socketPath, 4);
  await target.stop();
  if (!baseline) baseline = rps;
  rows.push({ case: c.name, 'req/s (1 conn)': Math.round(rps), 'req/s (4 conns)': Math.round(rps4), 'vs baseline': `${((rps / baseline) * 100).toFixed(0)}%` });
}
printTable(`Runtime no-op requests per second (${seconds}s per case, node ${process.version})`, rows);
