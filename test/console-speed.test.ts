/**
 * The console with 100,000 envelopes in PostgreSQL: the gateway on a schema of this test's own, filled
 * with generate_series, and the envelope list in Chromium. It measures, and reports without asserting
 * (timings on a shared 2-core machine are not a pass/fail matter): how long the first page takes to render
 * in the browser, the next page, and how long after the gateway receives a change (a new envelope, a
 * sidecar's progress report, a cancel) the list shows it, against the same feed's frame reaching a Node
 * client in the same run. The figures go to test-output/console/speed.json and docs/performance.md. It does assert what must hold at
 * any speed: the page is full, paging moves on, and every live change does appear.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureChromium, launchBrowser, type TestBrowser } from './support/browser.ts';
import { screenshot } from './support/console-page.ts';
import { readSse, startTestGateway, testSchema, waitUntil, type TestGateway } from './support/gateway-harness.ts';
import type { TestSchema } from './support/postgres.ts';
import { testArtifactsDir } from './support/test-output.ts';

const TOKEN = 'console-speed-token';
const INTERNAL = 'console-speed-internal';
const ROWS = 100_000;
const LIVE_SAMPLES = 10;
const missing = ensureChromium();
const WAIT = { timeout: 60_000 };

const median = (values: number[]) => Math.round([...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!);

describe.skipIf(missing !== undefined)(`console with ${ROWS} envelopes in PostgreSQL${missing ? ` (${missing})` : ''}`, () => {
  const artifacts = testArtifactsDir('console');
  let schema: TestSchema;
  let gw: TestGateway;
  let browser: TestBrowser;

  beforeAll(async () => {
    schema = await testSchema('console_speed');
    gw = await startTestGateway({ schema, config: { apiToken: TOKEN, internalToken: INTERNAL } });
    const sql = postgres(schema.url, { max: 1, onnotice: () => {} });
    try {
      await sql.unsafe(`set search_path to ${schema.name}`);
      // One a second into the past, the four statuses in turn, all from one tool.
      await sql.unsafe(`
        insert into envelopes (id, status, route_actors, route_current, payload, tool_name, total_actors, created_at, updated_at)
        select 'bulk-' || lpad(g::text, 6, '0'), (array['pending', 'running', 'succeeded', 'failed'])[1 + g % 4],
               array['clean', 'score'], g % 2, jsonb_build_object('n', g), 'score_text', 2,
               now() - make_interval(secs => g), now() - make_interval(secs => g) + interval '1 second'
        from generate_series(1, ${ROWS}) g`);
      await sql.unsafe('analyze envelopes');
    } finally {
      await sql.end();
    }
    browser = await launchBrowser();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
    await schema?.drop();
  });

  it('renders the first page, pages on, and shows live changes; the times are reported', async () => {
    const page = await browser.browser.newPage({ viewport: { width: 1280, height: 900 } });
    // Signed in already (the token in sessionStorage), so the measured load is the list's own.
    await page.addInitScript(`sessionStorage.setItem('asya.console.token', ${JSON.stringify(TOKEN)})`);
    const firstPage: number[] = [];
    const fromNavigation: number[] = [];
    for (let i = 0; i < 3; i++) {
      // A fresh load each time (a hash change alone would not reload the page).
      await page.goto('about:blank');
      await page.goto(`${gw.url}/ui/#/envelopes`);
      await page.locator('#envelopes tbody tr[data-id]').nth(49).waitFor(WAIT);
      const [measured, rendered] = (await page.evaluate(`[performance.getEntriesByName('asya-envelopes-first-page')[0].duration, performance.getEntriesByName('asya-envelopes-rendered')[0].startTime]`)) as [number, number];
      firstPage.push(measured);
      fromNavigation.push(rendered);
    }
    expect(await page.locator('#envelopes tbody tr[data-id]').first().getAttribute('data-id')).toBe('bulk-000001');
    await screenshot(page, artifacts, 'envelopes-100k');

    // The next page, by the cursor, until its rows replace the first page's.
    const before = performance.now();
    await page.getByRole('button', { name: 'Older' }).click();
    await page.locator('#envelopes tr[data-id="bulk-000051"]').waitFor(WAIT);
    const olderMs = performance.now() - before;
    await page.getByRole('button', { name: 'Newer' }).click();
    await page.locator('#envelopes tr[data-id="bulk-000001"]').waitFor(WAIT);
    await page.locator('#live-state', { hasText: 'live' }).waitFor(WAIT);

    // The baseline: the same feed read by this process, without a browser. The time each frame arrives,
    // by envelope and status, first arrival only (the read's callback also runs on keep-alive comments).
    const arrived = new Map<string, number>();
    let feedOpen = false;
    void readSse(`${gw.url}/console/api/updates`, {
      headers: { authorization: `Bearer ${TOKEN}` },
      timeoutMs: 600_000,
      onOpen: () => void (feedOpen = true),
      until: (read) => {
        const last = read.events.at(-1);
        if (last) {
          const frame = JSON.parse(last.data) as { id: string; status: string };
          const key = `${frame.id} ${frame.status}`;
          if (!arrived.has(key)) arrived.set(key, Date.now());
        }
        return false;
      },
    });
    await waitUntil(() => feedOpen, 30_000, 'the baseline feed open');

    // Live: a new envelope appears at the top, a sidecar's progress report moves its current actor, then its
    // cancel shows; each from the moment the gateway received the change (the store write, the sidecar's
    // POST, the REST call) to the row showing it, and to the frame reaching this process.
    const appear: number[] = [];
    const progress: number[] = [];
    const change: number[] = [];
    const feedFrame: number[] = [];
    for (let i = 0; i < LIVE_SAMPLES; i++) {
      const id = `live-${i}-${Date.now()}`;
      let sent = Date.now();
      await gw.store.create({ id, actors: ['clean', 'score'], payload: { i }, toolName: 'score_text' });
      const row = page.locator(`#envelopes tr[data-id="${id}"]`);
      await row.waitFor(WAIT);
      appear.push(Number(await row.getAttribute('data-live-at')) - sent);
      sent = Date.now();
      const reported = await fetch(`${gw.url}/envelopes/${id}/progress`, {
        method: 'POST',
        headers: { authorization: `Bearer ${INTERNAL}`, 'content-type': 'application/json' },
        body: JSON.stringify({ status: 'completed', current_actor_idx: 1, actors: ['clean', 'score'] }),
      });
      expect(reported.status).toBe(200);
      await row.locator('td.actor', { hasText: /^score$/ }).waitFor(WAIT);
      progress.push(Number(await row.getAttribute('data-live-at')) - sent);
      await waitUntil(() => arrived.has(`${id} running`), 30_000, `the frame of ${id}'s progress`);
      feedFrame.push(arrived.get(`${id} running`)! - sent);
      sent = Date.now();
      const res = await fetch(`${gw.url}/envelopes/${id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status).toBe(200);
      await page.locator(`#envelopes tr[data-id="${id}"][data-status="failed"]`).waitFor(WAIT);
      change.push(Number(await row.getAttribute('data-live-at')) - sent);
    }
    await screenshot(page, artifacts, 'envelopes-100k-live');

    // The REST call the page makes, from node, for comparison with the browser's figure.
    const api: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const res = await fetch(`${gw.url}/envelopes?limit=50&roots=true`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(((await res.json()) as { envelopes: unknown[] }).envelopes).toHaveLength(50);
      api.push(performance.now() - started);
    }
    const report = {
      envelopes: ROWS + LIVE_SAMPLES,
      first_page_render_ms: { median: median(firstPage), runs: firstPage.map(Math.round) },
      first_page_from_navigation_ms: { median: median(fromNavigation), runs: fromNavigation.map(Math.round) },
      older_page_ms: Math.round(olderMs),
      rest_list_ms: { median: median(api), runs: api.map(Math.round) },
      live_new_envelope_ms: { median: median(appear), max: Math.max(...appear), runs: appear },
      live_progress_report_ms: { median: median(progress), max: Math.max(...progress), runs: progress },
      live_progress_frame_in_node_ms: { median: median(feedFrame), max: Math.max(...feedFrame), runs: feedFrame },
      live_status_change_ms: { median: median(change), max: Math.max(...change), runs: change },
    };
    writeFileSync(join(artifacts, 'speed.json'), `${JSON.stringify(report, null, 2)}\n`);
    process.stderr.write(`console speed: ${JSON.stringify(report)}\n`);
    expect(appear).toHaveLength(LIVE_SAMPLES);
    expect(change).toHaveLength(LIVE_SAMPLES);
    expect(progress).toHaveLength(LIVE_SAMPLES);
  }, 240_000);
});
