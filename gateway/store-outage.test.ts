/**
 * The gateway's database goes away (a TCP relay in front of it is taken down) while many requests arrive at
 * once: every one of them is answered with a clear 503 and Retry-After, none is left hanging until the
 * client gives up, and nothing a refused request carried is recorded. When the database is back, requests
 * go through again.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startOutageRelay, type PostgresOutage, type TestSchema } from '../test/support/postgres.ts';
import { startTestGateway, testSchema, type TestGateway } from '../test/support/gateway-harness.ts';
import { asError, errorText } from '../protocol/errors.ts';

const TOOLS = `
tools:
- name: echo
  parameters: {text: {type: string}}
  route: [echo-actor]
`;
const BURST = 50;
/** What a patient client waits before it gives up; the gateway must answer long before. */
const CLIENT_PATIENCE_MS = 30_000;

let schema: TestSchema;
let relay: PostgresOutage;
let gw: TestGateway;

beforeAll(async () => {
  schema = await testSchema('outage_burst');
  relay = await startOutageRelay(schema.url);
  gw = await startTestGateway({ schema: { ...schema, url: relay.url }, tools: TOOLS, store: { connectTimeoutSeconds: 2 } });
  await gw.transport.ensureQueue('asya-echo-actor');
}, 60_000);

afterAll(async () => {
  await relay?.up();
  await gw?.stop();
  await relay?.close();
  await schema?.drop();
}, 60_000);

interface Answer {
  request: string;
  status: number | string;
  retryAfter?: string | null;
  error?: string;
  /** A tool call answered 200 whose content says it failed. */
  isError?: boolean;
}

/** One request of each kind the gateway serves from its store: a read, a tool call, a final report. */
const REQUESTS = [
  { name: 'GET /envelopes/{id}', path: '/envelopes/missing-envelope' },
  { name: 'POST /tools/call', path: '/tools/call', body: { name: 'echo', arguments: { text: 'hello' } } },
  { name: 'POST /envelopes/{id}/final', path: '/envelopes/missing-envelope/final', body: { status: 'succeeded', result: {} } },
] as const;

async function send(i: number): Promise<Answer> {
  const request = REQUESTS[i % REQUESTS.length]!;
  try {
    const res = await fetch(`${gw.url}${request.path}`, {
      ...('body' in request ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request.body) } : {}),
      signal: AbortSignal.timeout(CLIENT_PATIENCE_MS),
    });
    const body = (await res.json()) as { error?: string; isError?: boolean };
    return {
      request: request.name, status: res.status, retryAfter: res.headers.get('retry-after'),
      ...(body.error ? { error: body.error } : {}), ...(body.isError ? { isError: true } : {}),
    };
  } catch (err) {
    return { request: request.name, status: `no answer: ${asError(err).name}: ${errorText(err)}` };
  }
}

const burst = () => Promise.all(Array.from({ length: BURST }, (_, i) => send(i)));

test(`${BURST} concurrent requests while the database is down: every one is answered 503 with Retry-After`, async () => {
  // The store works first, so what follows is the outage and not a gateway that never had a database.
  expect((await send(0)).status).toBe(404);

  await relay.down();
  for (const round of [1, 2]) {
    const answers = await burst();
    const wrong = answers.filter((a) => a.status !== 503 || a.retryAfter !== '1' || !/^envelope store unavailable: /.test(a.error ?? ''));
    expect(wrong, `round ${round}`).toEqual([]);
    expect(answers).toHaveLength(BURST);
  }
  expect((await fetch(`${gw.url}/ready`)).status).toBe(503);

  await relay.up();
  await expect.poll(async () => (await send(0)).status, { timeout: 30_000, interval: 100 }).toBe(404);
  // Every request of the next burst goes through: the outage is over for all of them, not just the probe.
  const after = await burst();
  expect(after.filter((a) => a.status !== (a.request === 'POST /tools/call' ? 200 : 404) || a.isError)).toEqual([]);
  // The refused tool calls recorded nothing: only the tool calls made after the outage exist.
  const created = await gw.store.list({ toolName: 'echo', limit: 500 });
  expect(created.items).toHaveLength(after.filter((a) => a.request === 'POST /tools/call').length);
}, 180_000);
