// @ts-check
/**
 * A JSON viewer for documents of any size: objects and arrays are collapsible, their members are built
 * only when opened, and long lists and strings show a first part with a button for more. A 50 MB result
 * costs what is on screen, not what is in it.
 */
import { h } from './dom.js';

const PAGE = 100;
const LONG_STRING = 2000;

/**
 * @param {unknown} value
 * @param {string} label an accessible name for the whole viewer
 */
export function jsonView(value, label) {
  return h('div', { class: 'json', role: 'group', 'aria-label': label }, node(value, undefined, true));
}

/** @param {unknown} value @param {string | undefined} key @param {boolean} open */
function node(value, key, open) {
  const name = key === undefined ? null : h('span', { class: 'json-key' }, `${JSON.stringify(key)}: `);
  if (value === null || typeof value !== 'object') return h('div', { class: 'json-line' }, name, scalar(value));
  const entries = Array.isArray(value) ? value.map((v, i) => /** @type {[string, unknown]} */ ([String(i), v])) : Object.entries(value);
  const summary = Array.isArray(value) ? `[${entries.length} item${entries.length === 1 ? '' : 's'}]` : `{${entries.length} key${entries.length === 1 ? '' : 's'}}`;
  const items = h('div', {});
  const button = h('button', { type: 'button', class: 'json-more', hidden: true });
  const body = h('div', { class: 'json-children' }, items, button);
  const details = /** @type {HTMLDetailsElement} */ (h('details', { class: 'json-node' }, h('summary', {}, name, summary), body));
  let shown = 0;
  const more = () => {
    const next = entries.slice(shown, shown + PAGE);
    for (const [k, v] of next) items.appendChild(node(v, Array.isArray(value) ? undefined : k, false));
    shown += next.length;
    const left = entries.length - shown;
    button.hidden = left === 0;
    button.textContent = `Show ${Math.min(PAGE, left)} more of ${left}`;
  };
  button.addEventListener('click', more);
  // Members are built on first open only.
  details.addEventListener('toggle', () => {
    if (details.open && shown === 0) more();
  });
  if (open && entries.length > 0) {
    details.open = true;
    more();
  }
  return details;
}

/** @param {unknown} value */
function scalar(value) {
  if (typeof value !== 'string') return h('span', { class: `json-${value === null ? 'null' : typeof value}` }, JSON.stringify(value));
  const text = JSON.stringify(value);
  if (text.length <= LONG_STRING) return h('span', { class: 'json-string' }, text);
  const span = h('span', { class: 'json-string' }, `${text.slice(0, LONG_STRING)}…`);
  const button = h('button', { type: 'button', class: 'json-more', onclick: () => { span.textContent = text; button.remove(); } }, `Show all ${text.length} characters`);
  return h('span', {}, span, ' ', button);
}
