/**
 * The sidecar image's contents (cli/build.ts) on their own, in a temporary directory with no node_modules
 * anywhere above it: none of the excluded packages' code is inside, and `asya crew happy-end` from them
 * consumes from RabbitMQ, runs the crew handler (bundled JavaScript, no tsx), stores and reports a result.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Metafile } from 'esbuild';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startFakeGateway, type FakeGateway } from '../test/support/fake-gateway.ts';
import { expectHappyEndRoundTrip } from '../test/support/crew-process.ts';
import { RABBITMQ_URL } from '../test/support/rabbitmq.ts';
import { RabbitMqTransport } from '../transport/rabbitmq/rabbitmq.ts';
import { nodeTarget } from '../krm-functions/build.ts';
import { buildSidecar, SIDECAR_EXCLUDED } from './build.ts';

let work: string;
let image: string;
let metafile: Metafile;
let gateway: FakeGateway;
let transport: RabbitMqTransport;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'asya-sidecar-image-'));
  metafile = await buildSidecar(work);
  image = join(work, 'sidecar');
  gateway = await startFakeGateway();
  transport = await RabbitMqTransport.connect({ url: RABBITMQ_URL, connectionName: `sidecar-image-${randomUUID()}` });
});
afterAll(async () => {
  await transport?.close();
  await gateway?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

const packageOf = (path: string) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1];

test('no code of the packages a sidecar never runs is inside; the only imports left open are node built-ins and tsx', () => {
  const bundled = new Set(Object.keys(metafile.inputs).map(packageOf).filter((p) => p !== undefined));
  expect([...bundled].filter((p) => (SIDECAR_EXCLUDED as readonly string[]).includes(p))).toEqual([]);
  expect(bundled).toContain('amqplib'); // a guard: dependencies are bundled, so the check above could see them
  const open = new Set(Object.values(metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path)));
  const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
  // tsx is imported only for a TypeScript handler, which runs in the full image, never in this one.
  expect([...open].filter((path) => !builtins.has(path)).sort()).toEqual(['tsx/cjs/api', 'tsx/esm/api']);
  expect(readdirSync(image).sort()).toEqual(['crew', 'dist', 'package.json']);
  expect(existsSync(join(image, 'node_modules'))).toBe(false);
});

test('asya crew happy-end from the bundle alone: consumes, stores, reports, drains on SIGTERM', async () => {
  const results = mkdtempSync(join(work, 'results-'));
  await expectHappyEndRoundTrip({ command: [process.execPath, join(image, 'dist/asya.js'), 'crew', 'happy-end'], cwd: image, transport, gateway, results });
});

test("every bundle targets the oldest Node of package.json's engines", () => {
  expect(nodeTarget('>=22')).toBe('node22');
  expect(nodeTarget()).toBe('node22');
  expect(() => nodeTarget('^22.12.0')).toThrow('engines.node must read ">=<major>"');
});
