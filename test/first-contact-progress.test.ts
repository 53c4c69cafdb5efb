/**
 * Progress that arrives out of order: an earlier hop's report reaching the gateway after a later hop's (two
 * sidecars report independently). Every report stays in the history, but what a caller sees never moves
 * back: the envelope's message, `asya call`'s lines (hops in route order) and MCP's notifications.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startRestFixture, type RestFixture } from './support/rest-fixture.ts';
import { takePublished } from './support/gateway-harness.ts';
import { asya } from './support/dev-process.ts';
import { emptyProject } from './support/new-project.ts';

let f: RestFixture;
const project = emptyProject();

beforeAll(async () => {
  f = await startRestFixture('fc_progress');
});

afterAll(async () => {
  await f?.stop();
  project.cleanup();
});

test('a late report from an earlier hop is kept as history (late: true) but shown neither by the envelope nor by asya call', async () => {
  const caller = asya(['call', 'pipeline', '--value', '1', '--gateway', f.gw.url], {}, project.dir);
  const envelope = await takePublished(f.transport, 'doubler');
  const id = envelope.id as string;
  const actors = ['doubler', 'incrementer'];
  const report = async (idx: number, state: 'received' | 'processing' | 'completed', message: string) =>
    expect((await f.sidecar.progress(id, actors, idx, state, message)).status).toBe(200);
  await report(0, 'received', 'Received in doubler');
  await report(0, 'processing', 'Processing in doubler');
  // incrementer's sidecar is faster than doubler's: its reports come before doubler's "completed".
  await report(1, 'received', 'Received in incrementer');
  await report(1, 'completed', 'Completed doubler');
  await report(1, 'processing', 'Processing in incrementer');
  await report(0, 'processing', 'Processing in doubler (retried report)');

  const now = (await f.request('GET', `/envelopes/${id}`)).json;
  expect(now).toMatchObject({ progress_percent: 75, message: 'Processing in incrementer' });

  expect((await f.sidecar.final(id, { status: 'succeeded', progress: 1.0, result: { value: 3 } })).status).toBe(200);
  const run = await caller;
  expect(run.status, run.stderr).toBe(0);
  const lines = run.stderr.trim().split('\n').map((l) => l.replace(/^pipeline: /, ''));
  expect(lines.filter((l) => / in |Completed/.test(l))).toEqual([
    '  5% Received in doubler',
    ' 25% Processing in doubler',
    ' 55% Received in incrementer',
    ' 75% Processing in incrementer',
  ]);

  // The history has every report, the late ones marked.
  const events = await f.gw.store.eventsSince(id, 0);
  const late = events.filter((e) => e.late).map((e) => e.message);
  expect(late).toEqual(['Completed doubler', 'Processing in doubler (retried report)']);
  expect(events.map((e) => e.message)).toContain('Completed doubler');
}, 60_000);
