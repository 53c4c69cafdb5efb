import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestSchema } from '../../test/support/postgres.ts';
import { Sidecar, readSse, startTestGateway, testSchema, waitUntil, type SseRead, type TestGateway } from '../../test/support/gateway-harness.ts';

let schema: TestSchema;
let gw: TestGateway;
let sidecar: Sidecar;
const ACTORS = ['first', 'second'];
let counter = 0;

beforeAll(async () => {
  schema = await testSchema('sse');
  gw = await startTestGateway({ schema, config: { sseKeepAliveMs: 15_000 } });
  sidecar = new Sidecar(gw.url);
});

afterAll(async () => {
  await gw?.stop();
  await schema?.drop();
});

async function envelope(): Promise<string> {
  const id = `sse-${Date.now().toString(36)}-${++counter}`;
  expect((await sidecar.post('/envelopes', { id, actors: ACTORS })).status).toBe(201);
  return id;
}

const statuses = (read: SseRead) => read.events.map((e) => (JSON.parse(e.data) as { status: string }).status);
const states = (read: SseRead) => read.events.map((e) => (JSON.parse(e.data) as { envelope_state?: string }).envelope_state ?? '-');

describe('GET /envelopes/{id}/stream', () => {
  it('replays history, then streams live updates, then closes after the final one', async () => {
    const id = await envelope();
    await sidecar.progress(id, ACTORS, 0, 'received');
    const read = await readSse(`${gw.url}/envelopes/${id}/stream`, {
      onOpen: () => {
        void (async () => {
          await sidecar.progress(id, ACTORS, 0, 'processing');
          await sidecar.progress(id, ACTORS, 1, 'completed');
          await sidecar.final(id, { status: 'succeeded', result: { n: 1 } });
        })();
      },
    });
    expect(read.status).toBe(200);
    expect(read.closedByServer).toBe(true);
    expect(statuses(read)).toEqual(['pending', 'running', 'running', 'running', 'succeeded']);
    expect(states(read)).toEqual(['-', 'received', 'processing', 'completed', '-']);
    expect(read.events.every((e) => e.event === 'update')).toBe(true);
    const ids = read.events.map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    // Replayed and live events carry the same fields.
    expect(JSON.parse(read.events[1]!.data)).toEqual({
      id, status: 'running', message: 'received 0', progress_percent: 5, actor: 'first', actors: ACTORS,
      current_actor_idx: 0, envelope_state: 'received', timestamp: expect.stringMatching(/Z$/),
    });
    expect(JSON.parse(read.events[2]!.data)).toMatchObject({ progress_percent: 25, actor: 'first', actors: ACTORS, current_actor_idx: 0 });
    expect(JSON.parse(read.events[4]!.data)).toMatchObject({ status: 'succeeded', result: { n: 1 }, progress_percent: 100 });
  });

  it('resumes after Last-Event-ID with only what was missed', async () => {
    const id = await envelope();
    await sidecar.progress(id, ACTORS, 0, 'received');
    const first = await readSse(`${gw.url}/envelopes/${id}/stream`, { until: (r) => r.events.length === 2 });
    expect(first.closedByServer).toBe(false);
    const last = first.events[1]!.id as string;
    await sidecar.progress(id, ACTORS, 0, 'processing');
    await sidecar.final(id, { status: 'failed', error: 'boom' });
    const resumed = await readSse(`${gw.url}/envelopes/${id}/stream`, { headers: { 'Last-Event-ID': last } });
    expect(statuses(resumed)).toEqual(['running', 'failed']);
    expect(Number(resumed.events[0]!.id)).toBeGreaterThan(Number(last));
    expect(resumed.closedByServer).toBe(true);
    // The query parameter works for clients that cannot set headers (EventSource's first connect).
    const viaQuery = await readSse(`${gw.url}/envelopes/${id}/stream?last_event_id=${last}`);
    expect(statuses(viaQuery)).toEqual(['running', 'failed']);
  });

  it('replays and closes at once for an envelope that is already final', async () => {
    const id = await envelope();
    await sidecar.final(id, { status: 'succeeded', result: 'done' });
    const read = await readSse(`${gw.url}/envelopes/${id}/stream`, { timeoutMs: 5000 });
    expect(read.closedByServer).toBe(true);
    expect(statuses(read)).toEqual(['pending', 'succeeded']);
    const after = await readSse(`${gw.url}/envelopes/${id}/stream`, { headers: { 'Last-Event-ID': read.events[1]!.id as string }, timeoutMs: 5000 });
    expect(after).toMatchObject({ status: 200, events: [], closedByServer: true });
  });

  it('gives every concurrent subscriber the whole story', async () => {
    const id = await envelope();
    let open = 0;
    const readers = Array.from({ length: 5 }, () => readSse(`${gw.url}/envelopes/${id}/stream`, { onOpen: () => void open++ }));
    // All five streams are open before anything happens (a bound that fails, not a wait that gives up);
    // the readers themselves give up after 15 s.
    await waitUntil(() => open === 5, 10_000, 'five open streams');
    await sidecar.progress(id, ACTORS, 0, 'received');
    await sidecar.final(id, { status: 'succeeded' });
    for (const read of await Promise.all(readers)) {
      expect(statuses(read)).toEqual(['pending', 'running', 'succeeded']);
      expect(read.closedByServer).toBe(true);
    }
  });

  it('closes a fan-out parent stream only when its children have settled it', async () => {
    const id = await envelope();
    for (const i of [0, 1]) await sidecar.post('/envelopes', { id: `${id}-${i}`, parent_id: id, actors: ACTORS, current: 1, index: i, count: 2 });
    const reading = readSse(`${gw.url}/envelopes/${id}/stream`);
    await sidecar.final(`${id}-0`, { status: 'succeeded', result: 0 });
    await sidecar.final(`${id}-1`, { status: 'succeeded', result: 1 });
    const read = await reading;
    expect(read.closedByServer).toBe(true);
    expect(JSON.parse(read.events.at(-1)!.data)).toMatchObject({ status: 'succeeded', result: [0, 1] });
  });

  it('after a replay, streams past the old failure and closes at the new final', async () => {
    const id = await envelope();
    await sidecar.progress(id, ACTORS, 0, 'received');
    await sidecar.final(id, { status: 'failed', error: 'boom' });
    expect((await sidecar.post(`/envelopes/${id}/replay`, { reason: 'fixed' })).status).toBe(200);
    const read = await readSse(`${gw.url}/envelopes/${id}/stream`, {
      onOpen: () => void sidecar.final(id, { status: 'succeeded', result: 'ok' }),
    });
    expect(read.closedByServer).toBe(true);
    expect(statuses(read)).toEqual(['pending', 'running', 'failed', 'running', 'succeeded']);
    expect(states(read)).toEqual(['-', 'received', '-', 'replayed', '-']);
    expect(JSON.parse(read.events[3]!.data)).toMatchObject({ message: 'Envelope replayed: fixed' });
    // A client that saw the failure resumes from it and gets the rest.
    const resumed = await readSse(`${gw.url}/envelopes/${id}/stream`, { headers: { 'last-event-id': read.events[2]!.id! } });
    expect(statuses(resumed)).toEqual(['running', 'succeeded']);
  });

  it('sends keep-alive comments while nothing happens', async () => {
    const chatty = await startTestGateway({ schema, config: { sseKeepAliveMs: 50 } });
    try {
      const id = `keepalive-${Date.now()}`;
      await new Sidecar(chatty.url).post('/envelopes', { id, actors: ['a'] });
      const read = await readSse(`${chatty.url}/envelopes/${id}/stream`, { until: (r) => r.comments.length >= 2 });
      expect(read.comments.slice(0, 2)).toEqual(['keepalive', 'keepalive']);
      expect(read.events).toHaveLength(1);
    } finally {
      await chatty.stop();
    }
  });

  it('answers 404 for an unknown envelope and 400 for a bad Last-Event-ID, as JSON', async () => {
    const missing = await fetch(`${gw.url}/envelopes/no-such-envelope/stream`);
    expect([missing.status, await missing.json()]).toEqual([404, { error: 'Envelope not found' }]);
    const id = await envelope();
    const bad = await fetch(`${gw.url}/envelopes/${id}/stream`, { headers: { 'Last-Event-ID': 'abc' } });
    expect([bad.status, await bad.json()]).toEqual([400, { error: 'Invalid Last-Event-ID: expected the id of a previous event' }]);
  });

  it('ends open streams when the gateway stops', async () => {
    const other = await startTestGateway({ schema });
    const id = `shutdown-${Date.now()}`;
    await new Sidecar(other.url).post('/envelopes', { id, actors: ['a'] });
    let opened!: () => void;
    const isOpen = new Promise<void>((r) => (opened = r));
    const reading = readSse(`${other.url}/envelopes/${id}/stream`, { onOpen: () => opened(), timeoutMs: 10_000 });
    await isOpen;
    await other.stop();
    const read = await reading;
    expect(read.closedByServer).toBe(true);
  });
});
