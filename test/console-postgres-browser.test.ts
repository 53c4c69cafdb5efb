/**
 * The console in Chromium against the gateway as a cluster runs it: on PostgreSQL (a schema of this test's
 * own in the shared `test` database), with real actors (Node runtimes behind sidecars) and the real crew on
 * RabbitMQ, and its dead-letter queue read on the gateway's own transport as `asya gateway` does. The list
 * with its filters and search, a failed envelope and its error, a DLQ replay of a selection after the
 * handler is "fixed", and a row that changes live. Every page is screenshotted (test-output/console/) and
 * checked with axe-core. console-browser.test.ts drives the same pages under `asya dev`.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleDeadLetters } from '../cli/console-dlq.ts';
import { prometheusConsoleSource } from '../gateway/console/prometheus-actors.ts';
import type { ConsoleSources } from '../gateway/console/sources.ts';
import { TRANSPORT_PLUGINS } from '../transport/registry.ts';
import { CLIENT_TOKEN, startE2eWorld, type E2eWorld } from './e2e-world.ts';
import { ensureChromium, launchBrowser, type TestBrowser } from './support/browser.ts';
import { waitUntil } from './support/gateway-harness.ts';
import { accessibilityProblems, cancelFromKeyboard, screenshot, unreachableByKeyboard } from './support/console-page.ts';
import { ensurePrometheus, startPrometheus, type TestPrometheus } from './support/prometheus.ts';
import { RABBITMQ_URL } from './support/rabbitmq.ts';
import { testArtifactsDir } from './support/test-output.ts';

const missing = ensureChromium();
const prometheusMissing = missing === undefined ? ensurePrometheus() : undefined;
const WAIT = { timeout: 60_000 };
/** A failure bound for a loaded 2-core machine, not a timing. */
const TEST_BOUND = 150_000;

describe.skipIf(missing !== undefined)(`console on the gateway on PostgreSQL${missing ? ` (${missing})` : ''}`, () => {
  const artifacts = testArtifactsDir('console');
  const work = mkdtempSync(join(tmpdir(), 'asya-console-pg-'));
  const sources: ConsoleSources = {};
  let world: E2eWorld;
  let browser: TestBrowser;
  let page: Page;
  let ui: string;
  let prometheus: TestPrometheus | undefined;
  const succeeded: string[] = [];
  const failed: string[] = [];
  /** The file whose existence makes the flaky handler succeed ("the fix"). */
  const fix = join(work, 'fixed');
  /** The file whose existence ends the slow handler's long sleep (so stopping its sidecar does not wait it out). */
  const wake = join(work, 'wake');

  const checkPage = async (name: string) => {
    await screenshot(page, artifacts, `pg-${name}`);
    expect(await accessibilityProblems(page), `axe on ${name}`).toEqual([]);
    expect(await unreachableByKeyboard(page), `Tab on ${name}`).toEqual([]);
  };
  const rowIds = () => page.locator('#envelopes tbody tr[data-id]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));

  beforeAll(async () => {
    const transport = await TRANSPORT_PLUGINS.rabbitmq.connect(TRANSPORT_PLUGINS.rabbitmq.optionsFromEnv({ ASYA_RABBITMQ_URL: RABBITMQ_URL }));
    world = await startE2eWorld({
      transport,
      schemaPrefix: 'console_pg',
      storageEnv: { ASYA_RESULTS_DIR: join(work, 'results') },
      retry: { initialDelaySeconds: 0.2, multiplier: 2 },
      consoleSources: sources,
    });
    // As `asya gateway` does: the DLQ the crew writes, read on the gateway's own transport.
    sources.deadLetters = consoleDeadLetters(world.transport, world.dlqQueue);
    const n = world.names;
    // Each sidecar serves /metrics on a port of its own, for the actors page's Prometheus.
    const metrics = { ASYA_METRICS_ENABLED: 'true', ASYA_METRICS_ADDR: '127.0.0.1:0' };
    const started = await Promise.all([
      world.actor(n.one, 'echo', metrics),
      world.actor(n.two, 'echo', metrics),
      world.actor(n.three, 'echo', metrics),
      world.actor(n.flaky, 'flaky', metrics),
      world.actor(n.slow, 'sleep', metrics),
    ]);
    if (!prometheusMissing) {
      // As a gateway with ASYA_GATEWAY_PROMETHEUS_URL does (gateway/server.ts); console-prometheus.test.ts
      // covers the setting itself.
      prometheus = await startPrometheus(started.map((a) => ({ address: `127.0.0.1:${a.sidecar.metricsPort}`, labels: { namespace: 'console-pg' } })));
      Object.assign(sources, prometheusConsoleSource({ url: prometheus.url, selector: 'namespace="console-pg"', metricsNamespace: 'asya_actor', transport: world.transport }));
      // Scraped once at zero before the calls: a rate (p50, p95) sees only what happens after a first sample.
      await prometheus.targetsUp();
    }
    // Two that succeed and two that fail every attempt until the fix.
    for (let i = 0; i < 2; i++) succeeded.push(await world.call('pipeline', { text: `console ${i}` }));
    for (let i = 0; i < 2; i++) failed.push(await world.call('flaky', { counter: join(work, `counter-${i}`), failures: 99, fixed: fix }));
    // expect.poll (finalOf) is for tests only: here a plain wait.
    const final = async (id: string) => /^(succeeded|failed)$/.test((await world.get(`/envelopes/${id}`)).body.status);
    for (const id of [...succeeded, ...failed]) await waitUntil(() => final(id), 90_000, `${id} final`);
    browser = await launchBrowser();
    page = await browser.browser.newPage({ viewport: { width: 1280, height: 900 } });
    ui = `${world.gw.url}/ui/`;
  }, 240_000);

  afterAll(async () => {
    writeFileSync(wake, '');
    await browser?.close();
    await prometheus?.stop();
    const transport = world?.transport;
    await world?.stop();
    await transport?.close();
    rmSync(work, { recursive: true, force: true });
  }, TEST_BOUND);

  it('shows the login and no data without a token; signs in and lists the envelopes, filtered by status and tool and searched by id', async () => {
    const answered: string[] = [];
    const watch = (res: { ok(): boolean; url(): string }) => {
      const path = new URL(res.url()).pathname;
      if (res.ok() && (path.startsWith('/envelopes') || path.startsWith('/console/api'))) answered.push(path);
    };
    page.on('response', watch);
    await page.goto(`${ui}#/envelopes`);
    await page.getByLabel('API token').waitFor(WAIT);
    expect(await page.locator('#envelopes, nav#nav:not([hidden])').count()).toBe(0);
    expect(answered).toEqual([]);
    page.off('response', watch);
    await page.getByLabel('API token').fill(CLIENT_TOKEN);
    await page.keyboard.press('Enter');
    for (const id of [...succeeded, ...failed]) await page.locator(`#envelopes tr[data-id="${id}"]`).waitFor(WAIT);
    await checkPage('envelopes');

    await page.getByLabel('Status').selectOption('failed');
    await page.getByLabel('Tool').selectOption('flaky');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL(/status=failed/);
    await expect.poll(async () => (await rowIds()).sort(), WAIT).toEqual([...failed].sort());
    const statuses = await page.locator('#envelopes tbody tr[data-id]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status')));
    expect(new Set(statuses)).toEqual(new Set(['failed']));
    await screenshot(page, artifacts, 'pg-envelopes-failed');

    await page.getByLabel('Status').selectOption('');
    await page.getByLabel('Tool').selectOption('');
    await page.getByLabel('Search by id').fill(succeeded[0]!.slice(0, 13));
    await page.keyboard.press('Enter');
    await page.waitForURL(/q=/);
    await expect.poll(rowIds, WAIT).toEqual([succeeded[0]]);
  }, TEST_BOUND);

  it('opens a failed envelope and reads its error', async () => {
    await page.goto(`${ui}#/envelopes`);
    await page.locator(`#envelopes tr[data-id="${failed[0]}"] a`).click();
    await page.locator('#envelope-error').waitFor(WAIT);
    expect(await page.locator('#envelope-error').textContent()).toContain('flaky failure on attempt 3');
    expect(await page.locator('#route li').allTextContents()).toEqual([world.names.flaky]);
    await expect.poll(async () => page.locator('#timeline li').count(), WAIT).toBeGreaterThan(2);
    // Three attempts: the two retries error-end scheduled, from the timeline's live stream.
    await expect.poll(async () => page.locator('#retries li').allTextContents(), WAIT).toEqual([expect.stringMatching(/retry 1\/3 in /), expect.stringMatching(/retry 2\/3 in /)]);
    await checkPage('envelope-failed');
  }, TEST_BOUND);

  it('replays both failed envelopes from the DLQ page after the fix, and both succeed', async () => {
    await page.goto(`${ui}#/dlq`);
    // error-end dead-letters an envelope a moment after its final status: reload until both are there.
    const rows = failed.map((id) => page.locator(`#dlq tr[data-id="${id}"]`));
    for (let i = 0; i < 60 && (await Promise.all(rows.map((r) => r.count()))).some((c) => c === 0); i++) {
      await page.getByRole('button', { name: 'Reload' }).click();
      await expect.poll(async () => page.locator('#dlq-state').textContent(), WAIT).not.toMatch(/^Reading/);
    }
    for (const row of rows) await row.waitFor(WAIT);
    await checkPage('dlq');

    writeFileSync(fix, '');
    for (const row of rows) await row.getByRole('checkbox').check();
    await page.getByRole('button', { name: 'Replay selected' }).click();
    await page.getByRole('dialog').waitFor(WAIT);
    await page.locator('#confirm-ok').click();
    for (const id of failed) await page.locator('#replay-outcome').getByText(`${id} replayed to`).waitFor(WAIT);
    for (const id of failed) expect((await world.finalOf(id, 60_000)).status).toBe('succeeded');

    await page.goto(`${ui}#/envelopes/${failed[1]}`);
    await page.locator('#envelope-status .status-succeeded').waitFor(WAIT);
    await expect.poll(async () => page.locator('#retries').textContent(), WAIT).toMatch(/replayed/i);
    await checkPage('envelope-replayed');
  }, TEST_BOUND);

  it('changes a row live: a new envelope appears and reaches succeeded without a reload', async () => {
    await page.goto(`${ui}#/envelopes`);
    await page.locator('#live-state', { hasText: 'live' }).waitFor(WAIT);
    const loads: string[] = [];
    const listen = (res: { url(): string }) => void loads.push(new URL(res.url()).pathname);
    page.on('response', listen);
    const id = await world.call('slow', { seconds: 1 });
    const row = page.locator(`#envelopes tr[data-id="${id}"]`);
    await row.waitFor(WAIT);
    await page.locator(`#envelopes tr[data-id="${id}"][data-status="running"]`).waitFor(WAIT);
    expect(await row.locator('td.actor').textContent()).toBe(world.names.slow);
    expect(await row.locator('td').nth(2).textContent()).toBe('slow');
    await page.locator(`#envelopes tr[data-id="${id}"][data-status="succeeded"]`).waitFor(WAIT);
    page.off('response', listen);
    // The row changed from the feed's frames alone: the page read neither the list nor the envelope again.
    expect(loads.filter((path) => path.startsWith('/envelopes'))).toEqual([]);
    await screenshot(page, artifacts, 'pg-envelopes-live');
  }, TEST_BOUND);

  it('takes a fan-out child that first showed as a root out of the list of roots once its registration links it', async () => {
    await page.goto(`${ui}#/envelopes`);
    await page.locator('#live-state', { hasText: 'live' }).waitFor(WAIT);
    const { store } = world.gw;
    const actors = [world.names.one, world.names.two];
    const parent = `late-parent-${randomUUID()}`;
    const child = `${parent}-0`;
    await store.create({ id: parent, actors, payload: null, toolName: 'pipeline' });
    // The child's own first report arrives before its registration: the progress route creates it as a root.
    await store.create({ id: child, actors, payload: null, routeCurrent: 1 });
    await store.appendProgress(child, { actorState: 'received', currentActorIdx: 1 });
    const row = page.locator(`#envelopes tr[data-id="${child}"]`);
    await row.waitFor(WAIT);
    await store.registerChild({ id: child, parentId: parent, index: 0, fanoutSize: 1, actors });
    await store.appendProgress(child, { actorState: 'completed', currentActorIdx: 1 });
    await row.waitFor({ ...WAIT, state: 'detached' });
    await page.locator(`#envelopes tr[data-id="${parent}"]`).waitFor(WAIT);
  }, TEST_BOUND);

  it.skipIf(prometheusMissing !== undefined)(`shows the actors' numbers from Prometheus${prometheusMissing ? ` (${prometheusMissing})` : ''}`, async () => {
    await page.goto(`${ui}#/actors`);
    const n = world.names;
    const cell = (actor: string, column: number) => page.locator(`#actors tr[data-actor="${actor}"] td`).nth(column);
    for (const actor of [n.one, n.two, n.three, n.flaky, n.slow]) await page.locator(`#actors tr[data-actor="${actor}"]`).waitFor(WAIT);
    // Columns after the name: state, queue depth, in flight, processed, errors, p50, p95.
    expect(await cell(n.flaky, 0).textContent()).toBe('1 pod');
    expect(await cell(n.flaky, 1).textContent()).toBe('0');
    // The pipeline's first actor handled the two pipeline calls; flaky failed 6 times (3 attempts of 2 envelopes).
    await expect.poll(async () => Number(await cell(n.one, 3).textContent()), WAIT).toBe(2);
    await expect.poll(async () => Number(await cell(n.flaky, 4).textContent()), WAIT).toBe(6);
    await expect.poll(async () => cell(n.one, 5).textContent(), WAIT).toMatch(/ms$/);
    expect(await page.locator('#actors-note').textContent()).toContain('from Prometheus');
    await checkPage('actors');
  }, TEST_BOUND);

  it('calls a tool from its form until it succeeds, and cancels a running envelope from the keyboard', async () => {
    await page.goto(`${ui}#/tools`);
    await page.getByRole('link', { name: 'slow' }).click();
    await page.getByLabel(/^seconds/).fill('0.2');
    await page.getByRole('button', { name: 'Call slow' }).click();
    await page.locator('#call-status .status-succeeded').waitFor(WAIT);
    await checkPage('tool-call');
    const called = (await page.locator('#call-envelope').textContent()) ?? '';
    expect((await world.get(`/envelopes/${called}`)).body.status).toBe('succeeded');

    // Running until the test wakes it: a loaded machine may take longer to show the page than any fixed sleep.
    const id = await world.call('slow', { seconds: 600, wake });
    await page.goto(`${ui}#/envelopes/${id}`);
    await page.locator('#envelope-status .status-running').waitFor(WAIT);
    expect(await cancelFromKeyboard(page, WAIT.timeout)).toContain('cancelled');
    expect((await world.get(`/envelopes/${id}`)).body.cancelled).toBe(true);
    writeFileSync(wake, '');
  }, TEST_BOUND);
});
