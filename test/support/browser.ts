/**
 * A real browser for the console's tests: Debian's Chromium (installed with apt-get when missing and this
 * is root), driven by playwright-core, headless, with a fresh profile per launch (playwright's own temporary one). axe-core is evaluated in
 * the page (through the DevTools protocol, so the console's content security policy does not stop it).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ensureAptBinary } from './apt.ts';

export const CHROMIUM = '/usr/bin/chromium';

/** Installs Chromium when missing; answers why it cannot be had, or undefined when it is there. */
export function ensureChromium(): string | undefined {
  return ensureAptBinary(CHROMIUM, 'chromium');
}

export interface TestBrowser {
  readonly browser: Browser;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  // playwright refuses --user-data-dir with launch(): it gives each launch a fresh profile of its own, in a
  // temporary directory it removes on close.
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    timeout: 120_000,
  });
  return {
    browser,
    async close() {
      await browser.close();
    },
  };
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/** axe-core's WCAG 2 A/AA rules on the page as it is now; answers the serious and critical violations. */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(AXE_SOURCE);
  // A string, evaluated in the page: this project's TypeScript has no DOM types.
  const found = (await page.evaluate(`(async () => {
    const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => JSON.stringify(n.target)) }));
  })()`)) as AxeViolation[];
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
