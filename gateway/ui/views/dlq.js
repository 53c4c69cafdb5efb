// @ts-check
/**
 * The dead-letter queue: what error-end gave up on, read through the same reader as `asya dlq list`, an
 * inspector for one record, and replay of one or a selection after a confirmation, which reopens each
 * envelope at the gateway and sends it back to the actor that failed (as `asya dlq replay`).
 */
import { api, ApiError } from '../api.js';
import { announce, confirmAction, h, localTime, replaceChildren } from '../dom.js';
import { jsonView } from '../json-view.js';

/**
 * @typedef {{ id: string, failed_actor: string | null, error: string, code: string, attempts: number, dead_lettered_at: string, details?: { message?: unknown } }} DeadLetterRecord
 * @typedef {{ record?: DeadLetterRecord, raw?: string }} Letter
 */

/** @param {HTMLElement} main @param {import('../app.js').ViewContext} ctx */
export async function dlqView(main, { config, signal }) {
  if (!config.dlq) {
    replaceChildren(main, h('h1', {}, 'Dead letters'), h('p', {}, 'This gateway knows no dead-letter queue.'));
    return;
  }
  const tbody = h('tbody', {});
  const inspector = h('section', { id: 'inspector', 'aria-labelledby': 'inspector-h', hidden: true });
  const outcome = h('div', { id: 'replay-outcome', role: 'status' });
  const state = h('p', { id: 'dlq-state', 'aria-live': 'polite' }, 'Reading the queue…');
  const replaySelected = h('button', { type: 'button', id: 'replay-selected', class: 'primary', disabled: true, onclick: () => replay(selected()) }, 'Replay selected');
  const reload = h('button', { type: 'button', onclick: () => void load() }, 'Reload');
  replaceChildren(
    main,
    h('h1', {}, 'Dead letters'),
    h('p', {}, `Queue ${config.dlq.queue}. Replay sends an envelope back to the actor that failed, with its attempts reset, once its cause is fixed.`),
    h('div', { class: 'actions' }, replaySelected, reload),
    state,
    outcome,
    h(
      'table',
      { class: 'list', id: 'dlq' },
      h('caption', { class: 'visually-hidden' }, 'Dead letters'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Select')), ['Envelope', 'Failed actor', 'Code', 'Attempts', 'Dead-lettered', 'Error', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
      tbody,
    ),
    inspector,
  );

  const selected = () => [...tbody.querySelectorAll('input[type=checkbox]:checked')].map((box) => /** @type {HTMLInputElement} */ (box).value);
  const updateSelection = () => void (/** @type {HTMLButtonElement} */ (replaySelected).disabled = selected().length === 0);

  async function load() {
    state.textContent = 'Reading the queue…';
    /** @type {{ letters: Letter[] }} */
    const { letters } = await api('/console/api/dlq', { signal });
    replaceChildren(
      tbody,
      letters.map((letter, i) => {
        const r = letter.record;
        if (!r) return h('tr', {}, h('td', {}), h('td', { colspan: 7 }, `not a dead-letter record: ${(letter.raw ?? '').slice(0, 200)}`));
        const box = h('input', { type: 'checkbox', id: `pick-${i}`, value: r.id, onchange: updateSelection, 'aria-label': `Select ${r.id}` });
        return h(
          'tr',
          { 'data-id': r.id },
          h('td', {}, box),
          h('td', {}, h('a', { href: `#/envelopes/${encodeURIComponent(r.id)}`, class: 'mono' }, r.id)),
          h('td', {}, r.failed_actor ?? '-'),
          h('td', {}, r.code),
          h('td', {}, String(r.attempts)),
          h('td', {}, localTime(r.dead_lettered_at)),
          h('td', { class: 'clip' }, typeof r.details?.message === 'string' ? `${r.error}: ${r.details.message}` : r.error),
          h('td', {}, h('button', { type: 'button', onclick: () => inspect(letter) }, 'Inspect', h('span', { class: 'visually-hidden' }, ` ${r.id}`)), ' ',
            h('button', { type: 'button', onclick: () => replay([r.id]) }, 'Replay', h('span', { class: 'visually-hidden' }, ` ${r.id}`))),
        );
      }),
    );
    state.textContent = letters.length === 0 ? 'The queue is empty.' : `${letters.length} dead letter${letters.length === 1 ? '' : 's'}.`;
    updateSelection();
  }

  /** @param {Letter} letter */
  function inspect(letter) {
    inspector.hidden = false;
    replaceChildren(inspector, h('h2', { id: 'inspector-h', tabindex: -1 }, `Dead letter ${letter.record?.id ?? ''}`), jsonView(letter.record ?? letter.raw, 'Dead-letter record'));
    /** @type {HTMLElement} */ (inspector.firstElementChild).focus();
  }

  /** @param {string[]} ids */
  async function replay(ids) {
    if (ids.length === 0) return;
    const what = ids.length === 1 ? `envelope ${ids[0]}` : `${ids.length} envelopes`;
    if (!(await confirmAction(`Replay ${what}? Each goes back to the actor that failed.`, 'Replay'))) return;
    try {
      /** @type {{ outcomes: Array<{ id: string, ok: boolean, target?: string, warning?: string, error?: string }> }} */
      const { outcomes } = await api('/console/api/dlq/replay', { method: 'POST', body: { ids } });
      replaceChildren(outcome, h('ul', {}, outcomes.map((o) => h('li', { class: o.ok ? 'ok' : 'error' }, o.ok ? `${o.id} replayed to ${o.target}${o.warning ? ` (${o.warning})` : ''}` : `${o.id}: ${o.error}`))));
      announce(`${outcomes.filter((o) => o.ok).length} of ${outcomes.length} replayed`);
    } catch (err) {
      replaceChildren(outcome, h('p', { class: 'error' }, `Replay failed: ${err instanceof ApiError ? err.message : String(err)}`));
    }
    await load();
  }

  await load();
}
