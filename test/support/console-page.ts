/**
 * What the console's browser tests do on every page: a screenshot as an artifact, axe-core's serious and
 * critical findings, and a walk with the Tab key that must reach every control on the page.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { seriousViolations, type AxeViolation } from './browser.ts';

export async function screenshot(page: Page, dir: string, name: string): Promise<void> {
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}

export async function accessibilityProblems(page: Page): Promise<AxeViolation[]> {
  return seriousViolations(page);
}

/**
 * Presses Tab until focus has been everywhere it can go (it wraps round the page); answers the visible,
 * enabled controls (links, buttons, fields, disclosure summaries) it never reached, by their text.
 */
export async function unreachableByKeyboard(page: Page): Promise<string[]> {
  const count = (await page.evaluate(`(() => {
    const controls = [...document.querySelectorAll('a[href], button, input, select, textarea, summary')]
      .filter((el) => !el.disabled && el.getClientRects().length > 0 && !el.closest('[hidden], dialog:not([open])'));
    controls.forEach((el, i) => el.setAttribute('data-kb', String(i)));
    window.__kbReached = new Set();
    document.addEventListener('focusin', (e) => { const i = e.target.getAttribute && e.target.getAttribute('data-kb'); if (i) window.__kbReached.add(i); });
    document.activeElement?.blur();
    window.scrollTo(0, 0);
    return controls.length;
  })()`)) as number;
  // Focus goes round the page and wraps to its top after the last control; date fields take a Tab per part
  // (month, day, year, hours...). The bound only stops a page that traps focus.
  const bound = count * 4 + 60;
  for (let i = 1; i <= bound; i++) {
    await page.keyboard.press('Tab');
    if (i % 10 === 0 && ((await page.evaluate('window.__kbReached.size')) as number) >= count) break;
  }
  return (await page.evaluate(`[...document.querySelectorAll('[data-kb]')].filter((el) => !window.__kbReached.has(el.getAttribute('data-kb'))).map((el) => el.outerHTML.slice(0, 120))`)) as string[];
}

/**
 * On an open envelope's page: Cancel from the keyboard (focus, Enter, Enter on the confirmation), until the
 * page shows it failed; answers the status line's text (which says cancelled).
 */
export async function cancelFromKeyboard(page: Page, timeoutMs: number): Promise<string> {
  await page.locator('#cancel').focus();
  await page.keyboard.press('Enter');
  await page.getByRole('dialog').waitFor({ timeout: timeoutMs });
  await page.keyboard.press('Enter');
  await page.locator('#envelope-status .status-failed').waitFor({ timeout: timeoutMs });
  return (await page.locator('#envelope-status').textContent()) ?? '';
}
