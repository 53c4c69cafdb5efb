// @ts-check
/** A small element builder: every view builds its DOM with it, so text is always set as text (never HTML). */

/**
 * @typedef {string | number | boolean | null | undefined | Node} Child
 * @typedef {Record<string, string | number | boolean | null | undefined | EventListener>} Attributes
 */

/**
 * @param {string} tag
 * @param {Attributes} [attributes] `on<event>` keys are listeners; false/null/undefined leave the attribute out.
 * @param {...(Child | Child[])} children
 * @returns {HTMLElement}
 */
export function h(tag, attributes = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (typeof value === 'function') el.addEventListener(key.slice(2).toLowerCase(), value);
    else if (value === true) el.setAttribute(key, '');
    else if (value !== false && value !== null && value !== undefined) el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

/**
 * @param {Node} parent
 * @param {Array<Child | Child[]>} children
 */
export function append(parent, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** @param {Node} el @param {...(Child | Child[])} children */
export function replaceChildren(el, ...children) {
  while (el.firstChild) el.removeChild(el.firstChild);
  append(el, children);
}

/** Says something to screen readers (the page's polite live region). @param {string} text */
export function announce(text) {
  const region = document.getElementById('announce');
  if (region) region.textContent = text;
}

/** @param {string} status */
export function statusBadge(status) {
  return h('span', { class: `badge status-${status}` }, status);
}

/** "3 s", "4 min", "2 h", "5 d" @param {number} ms */
export function shortDuration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

/** @param {string} iso */
export function localTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/**
 * Asks for confirmation in the page's modal dialog (keyboard and screen-reader friendly, unlike confirm()).
 * @param {string} text
 * @param {string} action the confirm button's label
 * @returns {Promise<boolean>}
 */
export function confirmAction(text, action) {
  const dialog = /** @type {HTMLDialogElement} */ (document.getElementById('confirm'));
  const ok = /** @type {HTMLButtonElement} */ (document.getElementById('confirm-ok'));
  /** @type {HTMLElement} */ (document.getElementById('confirm-text')).textContent = text;
  ok.textContent = action;
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.showModal();
    ok.focus();
  });
}
