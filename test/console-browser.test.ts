/**
 * The console in a real browser (Debian's Chromium through playwright-core) against a real gateway and
 * pipeline: `asya dev` on a copy of examples/pipeline with an API token, whose `clean` handler the test can
 * break, fix and hold. Every page is screenshotted (test-output/console/), checked with axe-core, and walked
 * with the Tab key. Nothing here is timed; the speed figures are in console-speed.test.ts.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureChromium, launchBrowser, type TestBrowser } from './support/browser.ts';
import { accessibilityProblems, cancelFromKeyboard, screenshot, unreachableByKeyboard } from './support/console-page.ts';
import { copyExample, editFile, startDev, type DevProcess } from './support/dev-process.ts';
import { testArtifactsDir } from './support/test-output.ts';

const TOKEN = 'console-browser-token';
const missing = ensureChromium();
const WAIT = { timeout: 60_000 };
/** A failure bound for a loaded 2-core machine, not a timing. */
const TEST_BOUND = 150_000;

/** Breaks `clean` for documents saying BROKEN, and holds it on SLOW until a file named release appears. */
const GATE = `
import os as _os, time as _time

def _console_test_gate(payload):
    text = payload.get("text") if isinstance(payload.get("text"), str) else ""
    if "BROKEN" in text:
        raise ValueError("clean is broken for this document (console test)")
    if "SLOW" in text:
        release = _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "release")
        deadline = _time.time() + 60
        while not _os.path.exists(release) and _time.time() < deadline:
            _time.sleep(0.05)

`;

describe.skipIf(missing !== undefined)(`console under asya dev${missing ? ` (${missing})` : ''}`, () => {
  const artifacts = testArtifactsDir('console');
  let example: ReturnType<typeof copyExample>;
  let dev: DevProcess;
  let browser: TestBrowser;
  let page: Page;
  let ui: string;
  let succeededId = '';
  let failedId = '';

  const api = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${dev.url}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } });
    return (await res.json()) as Record<string, unknown>;
  };
  const checkPage = async (name: string) => {
    await screenshot(page, artifacts, name);
    expect(await accessibilityProblems(page), `axe on ${name}`).toEqual([]);
    expect(await unreachableByKeyboard(page), `Tab on ${name}`).toEqual([]);
  };
  const callFromForm = async (text: string) => {
    await page.goto(`${ui}#/tools`);
    await page.getByRole('link', { name: 'score_text' }).click();
    await page.getByLabel(/^text/).fill(text);
    await page.getByRole('button', { name: 'Call score_text' }).click();
    await page.locator('#call-envelope').waitFor(WAIT);
    return (await page.locator('#call-envelope').textContent()) ?? '';
  };

  beforeAll(async () => {
    example = copyExample('pipeline');
    editFile(join(example.dir, 'handlers/clean.py'), (text) =>
      text.replace('\ndef process(payload):\n', `${GATE}\ndef process(payload):\n    _console_test_gate(payload)\n`),
    );
    dev = await startDev(example.dir, [], { ASYA_GATEWAY_API_TOKEN: TOKEN });
    ui = `${dev.url}/ui/`;
    expect(dev.output()).toContain(`console ${ui}`);
    browser = await launchBrowser();
    page = await browser.browser.newPage({ viewport: { width: 1280, height: 900 } });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await dev?.stop();
    example?.cleanup();
  }, TEST_BOUND);

  it('without a token shows the login and no data', async () => {
    const answered: string[] = [];
    page.on('response', (res) => {
      const path = new URL(res.url()).pathname;
      if (res.ok() && (path.startsWith('/envelopes') || path.startsWith('/console/api') || path.startsWith('/tools'))) answered.push(res.url());
    });
    // An envelope exists, so there is data the page could show.
    await api('/tools/call', { method: 'POST', body: JSON.stringify({ name: 'score_text', arguments: { text: 'Something to see.' } }) });
    for (const hash of ['', '#/envelopes', '#/dlq', '#/tools', '#/actors']) {
      await page.goto(`${ui}${hash}`);
      await page.getByLabel('API token').waitFor(WAIT);
      expect(await page.locator('#envelopes, #dlq, #actors, #tool-form, nav#nav:not([hidden])').count()).toBe(0);
    }
    // A wrong token is refused, and still nothing is shown.
    await page.getByLabel('API token').fill('not-the-token');
    await page.keyboard.press('Enter');
    await page.getByText('The gateway refused that token.').waitFor(WAIT);
    expect(answered).toEqual([]);
    await checkPage('login');
  }, TEST_BOUND);

  it('signs in from the keyboard and calls a tool from its form until it succeeds', async () => {
    await page.getByLabel('API token').fill(TOKEN);
    await page.keyboard.press('Enter');
    // Signing in shows the page the address names (the last one tried above).
    await page.locator('#actors').waitFor(WAIT);
    await page.goto(`${ui}#/tools`);
    await page.getByRole('link', { name: 'review_document' }).waitFor(WAIT);
    await checkPage('tools');
    succeededId = await callFromForm('The console works. It shows every step.');
    await page.locator('#call-status .status-succeeded').waitFor(WAIT);
    await page.locator('#call-outcome').getByText('"score"').waitFor(WAIT);
    await checkPage('tool-call');
    expect((await api(`/envelopes/${succeededId}`)).status).toBe('succeeded');
  }, TEST_BOUND);

  it('opens a failed envelope and reads its error', async () => {
    failedId = await callFromForm('BROKEN document. It cannot be cleaned.');
    await page.locator('#call-status .status-failed').waitFor(WAIT);
    await page.locator('#call-envelope').click();
    await page.locator('#envelope-error').waitFor(WAIT);
    expect(await page.locator('#envelope-error').textContent()).toContain('clean is broken for this document');
    expect(await page.locator('#route li').allTextContents()).toEqual(['clean', 'score']);
    // The timeline fills from the envelope's SSE stream, a moment after the GET that shows the error.
    await expect.poll(async () => page.locator('#timeline li').count(), WAIT).toBeGreaterThan(1);
    await checkPage('envelope-failed');
  }, TEST_BOUND);

  it('filters by status and searches by id', async () => {
    await page.goto(`${ui}#/envelopes`);
    await page.locator(`#envelopes tr[data-id="${failedId}"]`).waitFor(WAIT);
    await checkPage('envelopes');
    await page.getByLabel('Status').selectOption('failed');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL(/status=failed/);
    await page.locator(`#envelopes tr[data-id="${failedId}"]`).waitFor(WAIT);
    const statuses = await page.locator('#envelopes tbody tr[data-id]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status')));
    expect(statuses.length).toBeGreaterThan(0);
    expect(new Set(statuses)).toEqual(new Set(['failed']));
    await page.getByLabel('Status').selectOption('');
    await page.getByLabel('Search by id').fill(succeededId.slice(0, 13));
    await page.keyboard.press('Enter');
    await page.waitForURL(/q=/);
    await page.locator(`#envelopes tr[data-id="${succeededId}"]`).waitFor(WAIT);
    expect(await page.locator('#envelopes tbody tr[data-id]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')))).toEqual([succeededId]);
    await screenshot(page, artifacts, 'envelopes-search');
  }, TEST_BOUND);

  it('replays the failed envelope from the DLQ page after the handler is fixed, and it succeeds', async () => {
    await page.goto(`${ui}#/dlq`);
    // error-end dead-letters it a moment after its final status: reload until it is there.
    const row = page.locator(`#dlq tr[data-id="${failedId}"]`);
    for (let i = 0; i < 60 && (await row.count()) === 0; i++) {
      await page.getByRole('button', { name: 'Reload' }).click();
      await expect.poll(async () => page.locator('#dlq-state').textContent(), WAIT).not.toMatch(/^Reading/);
    }
    await row.waitFor(WAIT);
    await row.getByRole('button', { name: /^Inspect/ }).click();
    await page.locator('#inspector').getByText('"clean"').first().waitFor(WAIT);
    await checkPage('dlq');

    editFile(join(example.dir, 'handlers/clean.py'), (text) => text.replace('raise ValueError("clean is broken', 'pass  # fixed: ValueError("clean is broken'));
    await dev.waitFor(/actor clean: handler changed; runtime restarted/);

    // From the keyboard: select it, Replay selected, confirm.
    await row.getByRole('checkbox').focus();
    await page.keyboard.press('Space');
    await page.getByRole('button', { name: 'Replay selected' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').waitFor(WAIT);
    await screenshot(page, artifacts, 'dlq-confirm');
    await page.keyboard.press('Enter');
    await page.locator('#replay-outcome').getByText(`${failedId} replayed to`).waitFor(WAIT);

    await page.goto(`${ui}#/envelopes/${failedId}`);
    await page.locator('#envelope-status .status-succeeded').waitFor(WAIT);
    // The retry history fills from the envelope's update stream, which may come after its status.
    await expect.poll(async () => page.locator('#retries').textContent(), WAIT).toMatch(/replayed/i);
    await checkPage('envelope-replayed');
  }, TEST_BOUND);

  it('cancels a running envelope from the keyboard', async () => {
    const created = await api('/tools/call', { method: 'POST', body: JSON.stringify({ name: 'score_text', arguments: { text: 'SLOW document. It waits.' } }) });
    const id = String(JSON.parse((created.content as Array<{ text: string }>)[0]!.text).envelope_id);
    await page.goto(`${ui}#/envelopes/${id}`);
    await page.locator('#envelope-status .status-running').waitFor(WAIT);
    await expect.poll(async () => page.locator('#route li[aria-current="step"]').textContent(), WAIT).toBe('clean (current hop)');
    await checkPage('envelope-running');
    expect(await cancelFromKeyboard(page, WAIT.timeout)).toContain('cancelled');
    expect((await api(`/envelopes/${id}`)).cancelled).toBe(true);
    writeFileSync(join(example.dir, 'handlers/release'), '');
    expect(existsSync(join(example.dir, 'handlers/release'))).toBe(true);
  }, TEST_BOUND);

  it('shows every actor with its numbers', async () => {
    await page.goto(`${ui}#/actors`);
    const clean = page.locator('#actors tr[data-actor="clean"]');
    await clean.waitFor(WAIT);
    for (const actor of ['clean', 'chunk', 'score', 'judge', 'refine', 'publish', 'happy-end', 'error-end']) {
      await page.locator(`#actors tr[data-actor="${actor}"]`).waitFor(WAIT);
    }
    // Processed (5th column) counts what clean handled so far.
    await expect.poll(async () => Number(await clean.locator('td').nth(3).textContent()), WAIT).toBeGreaterThan(0);
    await checkPage('actors');
  });
});
