/** childProcessSupervisor's `output` option: the runtime's stdout and stderr go to the caller, not to this process's. */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { createLogger } from '../protocol/log.ts';
import { childProcessSupervisor } from './supervisor.ts';

const dir = mkdtempSync(join(tmpdir(), 'asya-supervisor-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('a runtime started with an output callback hands it both streams', async () => {
  const chunks: string[] = [];
  const script = "process.stdout.write('to stdout\\n'); process.stderr.write('to stderr\\n');";
  const supervisor = childProcessSupervisor({
    command: [process.execPath, '-e', script],
    env: process.env,
    paths: { socketPath: join(dir, 'asya-runtime.sock'), readyFile: join(dir, 'runtime-ready') },
    readyTimeoutMs: 60_000,
    log: createLogger('ERROR', 'test.supervisor'),
    output: (chunk) => chunks.push(chunk.toString()),
  });
  // The script exits without becoming ready; by then both streams have been read to their end.
  await expect(supervisor.start()).rejects.toThrow('runtime exited (code 0, signal null) before it was ready');
  const { stdout, stderr } = supervisor.child!;
  await Promise.all([stdout!, stderr!].map((stream) => (stream.readableEnded ? undefined : once(stream, 'end'))));
  expect(chunks.join('').split('\n').filter(Boolean).sort()).toEqual(['to stderr', 'to stdout']);
});
