/**
 * Ctrl-C in asya dev on the in-memory transport: the drain lets every accepted call finish before the
 * process exits 0, because whatever stayed queued in memory would be lost. The SIGINT goes to the whole
 * process group, as Ctrl-C in a terminal does. Checked after the fact by
 * starting dev again on the same store: every envelope is final (succeeded).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { asya, copyExample, startDev } from './support/dev-process.ts';
import { gateHandler } from './support/gated-handler.ts';

const example = copyExample('hello');
afterAll(() => example.cleanup());

test('SIGINT drains: calls in flight and queued all reach a final status, nothing is lost, exit 0', async () => {
  const gate = gateHandler(example.dir, 'normalize');
  const store = ['--data-dir', join(example.dir, '.store')];
  const dev = await startDev(example.dir, store, {}, { processGroup: true });
  const env = { ASYA_GATEWAY_URL: dev.url };
  const ids: string[] = [];
  for (const text of ['one good thing', 'two bad things', 'three nice things']) {
    const run = await asya(['call', 'analyze_text', '--text', text, '--no-wait'], env);
    expect(run.status, run.stderr).toBe(0);
    ids.push((JSON.parse(run.stdout) as { envelope_id: string }).envelope_id);
  }
  // normalize holds the first call and the other two wait in its queue: none can be final yet.
  for (const id of ids) expect(JSON.parse((await asya(['status', id], env)).stdout).status).not.toMatch(/succeeded|failed/);

  // Ctrl-C as a terminal sends it: to the whole process group, the crew's runtimes included.
  dev.interruptGroup();
  await dev.waitFor(/draining: letting every queued call finish/);
  writeFileSync(gate, 'open');
  expect(await dev.exited).toBe(0);
  expect(dev.output()).toContain('drained: every accepted call finished; stopped');
  // The crew worked through the drain without losing its runtimes to the SIGINT.
  expect(dev.output()).not.toMatch(/Runtime exited|Restarting the runtime/);

  const again = await startDev(example.dir, store);
  try {
    for (const id of ids) {
      const status = await asya(['status', id], { ASYA_GATEWAY_URL: again.url });
      expect(status.status, status.stderr).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({ id, status: 'succeeded' });
    }
  } finally {
    expect(await again.stop()).toBe(0);
  }
}, 240_000);
