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

test('a sidecar loads one broker client, when it connects: no client is among what every start loads', () => {
  // What a start loads: the static imports, and the dynamic ones the CLI makes to run a command and build
  // its parts (the transport factory). Not those made on use: a plugin's client on connect, S3 on first offload.
  const reached = new Set<string>();
  const visit = (input: string) => {
    if (reached.has(input)) return;
    reached.add(input);
    const atStart = /^cli\//.test(input);
    for (const i of metafile.inputs[input]?.imports ?? []) if (!i.external && (i.kind !== 'dynamic-import' || atStart)) visit(i.path);
  };
  visit(Object.keys(metafile.inputs).find((i) => i.endsWith('cli/sidecar-bin.ts'))!);
  const packages = new Set([...reached].map(packageOf));
  // Guards: the walk reaches the plugins and the dependencies a start does load.
  expect([...reached].filter((i) => /transport\/rabbitmq\/plugin\.ts$/.test(i))).toHaveLength(1);
  expect(packages).toContain('zod');
  expect([...packages].filter((p) => p && /^(amqplib|@aws-sdk\/|@smithy\/|@nats-io\/)/.test(p))).toEqual([]);
  const everywhere = new Set(Object.values(metafile.outputs).flatMap((o) => Object.keys(o.inputs).map(packageOf)));
  expect(['amqplib', '@aws-sdk/client-sqs', '@nats-io/jetstream'].filter((p) => !everywhere.has(p))).toEqual([]); // each still bundled, behind its import
  const locales = Object.keys(metafile.inputs).filter((i) => /^node_modules\/zod\/v4\/locales\//.test(i)); // not our stub index
  expect(locales.map((i) => i.split('/').pop())).toEqual(['en.js']);
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
