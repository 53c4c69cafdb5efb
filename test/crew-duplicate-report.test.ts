/**
 * Where a second final report comes from, made deterministic: happy-end posts its final status, the real
 * gateway records it, but the answer is kept back (a TCP relay between them) until the crew's client has
 * given up and posted again. The gateway then holds two final reports answered 200 for one envelope, and
 * exactly one final state: the duplicate is counted as `ignored`. This is why the end-to-end suite counts
 * final states (`asya_gateway_final_reports_total{outcome="applied"}`), not final POSTs.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { CrewConfig } from '../crew/config.ts';
import { createHappyEnd } from '../crew/happy-end.ts';
import { DEFAULT_RETRY_POLICY } from '../crew/retry-policy.ts';
import { FileStorage } from '../crew/storage.ts';
import { startTestGateway, testSchema, type TestGateway } from './support/gateway-harness.ts';
import { isFinalStatus } from './e2e-world.ts';
import { gatewayClient } from '../protocol/gateway-client.ts';
import { createLogger } from '../protocol/index.ts';
import type { TestSchema } from './support/postgres.ts';
import { startTcpRelay, type TcpRelay } from './support/tcp-relay.ts';

const log = createLogger('ERROR', 'test.crew');
let schema: TestSchema;
let gw: TestGateway;
let relay: TcpRelay;
let dir: string;

beforeAll(async () => {
  schema = await testSchema('dup_report');
  gw = await startTestGateway({ schema });
  relay = await startTcpRelay(gw.url, 80);
  dir = mkdtempSync(join(tmpdir(), 'asya-dup-report-'));
}, 60_000);

afterAll(async () => {
  await relay?.close();
  await gw?.stop();
  await schema?.drop();
  rmSync(dir, { recursive: true, force: true });
});

async function metric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

const finalPosts = () => metric('asya_gateway_http_requests_total', 'route="/envelopes/:id/final",method="POST",status="200"');

test('a final report whose answer was lost is posted again: two reports, one final state, the second counted as ignored', async () => {
  const id = randomUUID();
  await gw.store.create({ id, actors: ['work'], payload: null });
  const config: CrewConfig = {
    storage: new FileStorage(dir),
    resultsPrefix: 'happy-asya/',
    errorsPrefix: 'error-asya/',
    // Each attempt is given up after a wait that the held answer certainly outlasts (it is held until the
    // release), and the attempts (with their doubling pauses, over 20 s in all) outlast the two polls before
    // the release on a loaded machine; the attempt open at the release (or a later one) gets its answer.
    gateway: gatewayClient({ url: relay.url.replace(/\/$/, ''), log, attempts: 12, retryDelayMs: 1, timeoutMs: 2000 }),
    happyEnd: 'happy-end',
    errorEnd: 'error-end',
    dlqQueue: 'asya-dlq',
    defaultPolicy: DEFAULT_RETRY_POLICY,
    log,
  };
  const applied = () => metric('asya_gateway_final_reports_total', 'outcome="applied"');
  const ignored = () => metric('asya_gateway_final_reports_total', 'outcome="ignored"');
  const before = { posts: await finalPosts(), applied: await applied(), ignored: await ignored() };

  relay.holdAnswers();
  const handled = createHappyEnd(config)({ id, route: { actors: ['work'], current: 1 }, payload: { answer: 42 } });
  // The gateway recorded the first report, and the client gave up on it and opened a second connection.
  await expect.poll(async () => (await gw.store.get(id))?.status, { timeout: 30_000 }).toBe('succeeded');
  await expect.poll(() => relay.connections, { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
  relay.releaseAnswers();
  expect(await handled).toMatchObject({ payload: { final_reported: true } });

  // The given-up POST was answered 200 all the same: the gateway counts more final POSTs than envelopes.
  await expect.poll(async () => (await finalPosts()) - before.posts, { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
  // Exactly one of them recorded the final state; every other one is counted as an ignored duplicate.
  const outcomes = async () => {
    const posts = (await finalPosts()) - before.posts;
    return { applied: (await applied()) - before.applied, ignoredAreTheRest: (await ignored()) - before.ignored === posts - 1 };
  };
  await expect.poll(outcomes, { timeout: 30_000 }).toEqual({ applied: 1, ignoredAreTheRest: true });
  const finals = (await gw.store.eventsSince(id, 0, 100)).filter((e) => isFinalStatus(e.status));
  expect(finals).toHaveLength(1);
}, 120_000);
