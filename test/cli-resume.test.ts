/**
 * `asya resume` as a user runs it (the real `asya` command) against a gateway on PostgreSQL holding a paused
 * envelope: input the schema refuses, input from a file, an envelope that is not paused, an unknown id.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { queueName } from '../protocol/queues.ts';
import { asya } from './support/dev-process.ts';
import { Sidecar, startTestGateway, testSchema, type TestGateway } from './support/gateway-harness.ts';
import type { TestSchema } from './support/postgres.ts';

const TOKEN = 'resume-cli-secret';
const INTERNAL = 'resume-cli-internal';
let schema: TestSchema;
let gw: TestGateway;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  schema = await testSchema('resume_cli');
  gw = await startTestGateway({ schema, config: { apiToken: TOKEN, internalToken: INTERNAL } });
  await gw.transport.ensureQueue(queueName('approve-next'));
  dir = mkdtempSync(join(tmpdir(), 'asya-resume-cli-'));
  env = { ASYA_GATEWAY_URL: gw.url, ASYA_GATEWAY_API_TOKEN: TOKEN };
});

afterAll(async () => {
  await gw?.stop();
  await schema?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function pausedEnvelope(): Promise<string> {
  const id = `resume-cli-${randomUUID()}`;
  await gw.store.create({ id, actors: ['approve', 'approve-next'], payload: { doc: 'x' } });
  const answer = await new Sidecar(gw.url, INTERNAL).post(`/envelopes/${id}/pause`, {
    prompt: 'Approve x?',
    schema: { type: 'object', properties: { approved: { type: 'boolean' } }, required: ['approved'] },
    actor: 'approve',
    queue: queueName('approve-next'),
    envelope: { id, route: { actors: ['approve', 'approve-next'], current: 1 }, payload: { doc: 'x' } },
  });
  expect(answer.status).toBe(200);
  return id;
}

test('asya resume: refused input exits 2 with the reason and leaves it paused; input from a file resumes it; again exits 5', async () => {
  const id = await pausedEnvelope();
  const refused = await asya(['resume', id, '--input', '{"approved": "yes"}'], env);
  expect(refused.status).toBe(2);
  expect(refused.stderr).toMatch(/refused the input for .*: resume input does not match the pause's schema: .*boolean/);
  expect((await gw.store.get(id))!.status).toBe('paused');

  const file = join(dir, 'answer.json');
  writeFileSync(file, '{"approved": true}');
  const resumed = await asya(['resume', id, '--input', `@${file}`], env);
  expect(resumed.status).toBe(0);
  expect(JSON.parse(resumed.stdout)).toMatchObject({ id, status: 'running' });

  const again = await asya(['resume', id, '--input', '{"approved": true}'], env);
  expect(again.status).toBe(5);
  expect(again.stderr).toContain('Envelope cannot be resumed: envelope is running, not paused');
});

test('asya resume: --help prints its usage; bad JSON exits 2, an unknown envelope exits 4', async () => {
  const help = await asya(['resume', '--help']);
  expect(help.status).toBe(0);
  expect(help.stdout).toMatch(/^Usage: asya resume <envelope id>/);
  const id = await pausedEnvelope();
  const bad = await asya(['resume', id, '--input', '{approved'], env);
  expect(bad.status).toBe(2);
  expect(bad.stderr).toContain('--input is not JSON');
  const unknown = await asya(['resume', `no-such-${randomUUID()}`, '--input', 'true'], env);
  expect(unknown.status).toBe(4);
});
