/**
 * `asya dev --payload-store`: one option gives the gateway, every sidecar and the crew the same store, so a
 * call whose arguments are over the threshold is offloaded at the gateway, resolved for each handler, and
 * still answered as before (docs/payloads.md).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { asya, copyExample, startDev, type DevProcess } from './support/dev-process.ts';

let example: { dir: string; cleanup: () => void } | undefined;
let dev: DevProcess | undefined;
let store: string | undefined;

afterEach(async () => {
  if (dev) expect(await dev.stop()).toBe(0);
  example?.cleanup();
  if (store) rmSync(store, { recursive: true, force: true });
  dev = undefined;
  example = undefined;
}, 240_000);

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);
}

test('a call over the threshold goes by reference through every actor and is answered as before', async () => {
  example = copyExample('hello');
  store = mkdtempSync(join(tmpdir(), 'asya-dev-payloads-'));
  dev = await startDev(example.dir, ['--data-dir', join(example.dir, '.store'), '--payload-store', store], { ASYA_PAYLOAD_OFFLOAD_BYTES: '65536' });
  await dev.waitFor(/payloads over the threshold in /);
  const text = `good news ${'and more good news '.repeat(5_000)}`;
  const run = await asya(['call', 'analyze_text', '--text', text, '--gateway', dev.url]);
  expect(run.status, run.stderr).toBe(0);
  expect(JSON.parse(run.stdout)).toMatchObject({ title: 'Sentiment report', reports_so_far: 1 });
  // The arguments (about 95 KB, under one command-line argument's limit) were stored once at the gateway, and normalize's cleaned text once more.
  expect(files(store).filter((f) => f.endsWith('.json')).length).toBeGreaterThanOrEqual(2);
}, 180_000);

test('--payload-store s3:// without a bucket is a usage error', async () => {
  const run = await asya(['dev', '.', '--payload-store', 's3://']);
  expect(run.status).toBe(2);
  expect(run.stderr).toContain('needs a bucket');
});
