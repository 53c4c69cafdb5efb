// @ts-check
/**
 * The envelope list: newest first, one page at a time by the gateway's cursor (GET /envelopes), filtered by
 * status, tool, creation time and id prefix, and kept live by the console's update feed: a row changes as
 * its envelope does, from the fields the feed's frame carries (no read of the envelope), and a new envelope
 * that fits the filters appears at the top of the first page.
 */
import { api, follow } from '../api.js';
import { announce, h, localTime, replaceChildren, shortDuration, statusBadge } from '../dom.js';

const PAGE_SIZE = 50;
const STATUSES = ['pending', 'running', 'succeeded', 'failed'];
const FINAL = new Set(['succeeded', 'failed']);

/**
 * @typedef {{ id: string, status: string, tool_name?: string, parent_id?: string, current_actor_name?: string,
 *   route: { actors: string[], current: number }, created_at: string, updated_at: string, error?: string }} Envelope
 */

/** @param {HTMLElement} main @param {import('../app.js').ViewContext} ctx */
export async function envelopesView(main, { query, signal }) {
  const filters = {
    status: query.get('status') ?? '',
    tool: query.get('tool') ?? '',
    from: query.get('from') ?? '',
    to: query.get('to') ?? '',
    q: query.get('q') ?? '',
    children: query.get('children') === '1',
  };
  /** The envelopes on this page as their rows show them. @type {Map<string, Envelope>} */
  const shown = new Map();
  /** @type {string[]} cursors of the pages before this one */
  const previous = [];
  /** @type {string | undefined} */
  let cursor;
  /** @type {string | undefined} */
  let next;
  const tools = /** @type {{ tools: Array<{ name: string }> }} */ (await api('/console/api/tools', { signal })).tools;

  const field = (/** @type {string} */ id, /** @type {string} */ label, /** @type {HTMLElement} */ control) => h('div', { class: 'field' }, h('label', { for: id }, label), control);
  const statusSelect = h('select', { id: 'f-status', name: 'status' }, h('option', { value: '' }, 'any'), STATUSES.map((s) => h('option', { value: s, selected: s === filters.status }, s)));
  const toolSelect = h('select', { id: 'f-tool', name: 'tool' }, h('option', { value: '' }, 'any'), tools.map((t) => h('option', { value: t.name, selected: t.name === filters.tool }, t.name)));
  const from = h('input', { id: 'f-from', name: 'from', type: 'datetime-local', step: 1, value: filters.from });
  const to = h('input', { id: 'f-to', name: 'to', type: 'datetime-local', step: 1, value: filters.to });
  const search = h('input', { id: 'f-q', name: 'q', type: 'search', placeholder: 'id or its start', value: filters.q, autocomplete: 'off' });
  const children = h('input', { id: 'f-children', name: 'children', type: 'checkbox', checked: filters.children });
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter envelopes', onsubmit: (/** @type {Event} */ e) => {
      e.preventDefault();
      const data = new FormData(/** @type {HTMLFormElement} */ (e.target));
      const params = new URLSearchParams();
      for (const key of ['status', 'tool', 'from', 'to', 'q']) {
        const value = String(data.get(key) ?? '').trim();
        if (value) params.set(key, value);
      }
      if (data.get('children')) params.set('children', '1');
      location.hash = `#/envelopes${params.size ? `?${params}` : ''}`;
    } },
    field('f-status', 'Status', statusSelect),
    field('f-tool', 'Tool', toolSelect),
    field('f-from', 'Created from', from),
    field('f-to', 'Created before', to),
    field('f-q', 'Search by id', search),
    h('div', { class: 'field checkbox' }, children, h('label', { for: 'f-children' }, 'Include fan-out children')),
    h('div', { class: 'field' }, h('button', { type: 'submit', class: 'primary' }, 'Apply filters')),
  );
  const tbody = h('tbody', {});
  const table = h(
    'table',
    { class: 'list', id: 'envelopes' },
    h('caption', { class: 'visually-hidden' }, 'Envelopes, newest first'),
    h('thead', {}, h('tr', {}, ['Envelope', 'Status', 'Tool', 'Age', 'Duration', 'Current actor'].map((c) => h('th', { scope: 'col' }, c)))),
    tbody,
  );
  const summary = h('p', { id: 'list-summary', 'aria-live': 'polite' });
  const live = h('span', { class: 'live', id: 'live-state' }, 'connecting…');
  const newer = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', disabled: true, onclick: () => load(previous.pop(), true) }, 'Newer'));
  const older = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', disabled: true, onclick: () => load(next, false) }, 'Older'));
  replaceChildren(main, h('h1', {}, 'Envelopes ', live), form, summary, table, h('nav', { class: 'pager', 'aria-label': 'Pages' }, newer, older));

  /** @param {Envelope} e */
  const row = (e) => {
    const tr = h('tr', { 'data-id': e.id, 'data-status': e.status });
    fill(tr, e);
    return tr;
  };
  /** @param {HTMLElement} tr @param {Envelope} e */
  const fill = (tr, e) => {
    const created = Date.parse(e.created_at);
    const ended = FINAL.has(e.status) ? Date.parse(e.updated_at) : Date.now();
    tr.setAttribute('data-status', e.status);
    replaceChildren(
      tr,
      h('td', {}, h('a', { href: `#/envelopes/${encodeURIComponent(e.id)}`, class: 'mono' }, e.id)),
      h('td', { class: 'status' }, statusBadge(e.status)),
      h('td', {}, e.tool_name ?? (e.parent_id ? 'fan-out child' : '-')),
      h('td', { title: localTime(e.created_at) }, shortDuration(Date.now() - created)),
      h('td', {}, shortDuration(ended - created)),
      h('td', { class: 'actor' }, FINAL.has(e.status) ? '-' : (e.current_actor_name ?? e.route.actors[e.route.current] ?? '-')),
    );
  };

  /** The query GET /envelopes takes for these filters. */
  const listQuery = () => {
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (filters.status) params.set('status', filters.status);
    if (filters.tool) params.set('tool', filters.tool);
    if (filters.from) params.set('created_from', new Date(filters.from).toISOString());
    if (filters.to) params.set('created_to', new Date(filters.to).toISOString());
    if (filters.q) params.set('id', filters.q);
    if (!filters.children) params.set('roots', 'true');
    return params;
  };
  /** Whether a live envelope belongs on the first page. @param {Envelope} e */
  const fits = (e) =>
    (!filters.status || e.status === filters.status) &&
    (!filters.tool || e.tool_name === filters.tool) &&
    (filters.children || !e.parent_id) &&
    (!filters.q || e.id.startsWith(filters.q)) &&
    (!filters.from || Date.parse(e.created_at) >= new Date(filters.from).getTime()) &&
    (!filters.to || Date.parse(e.created_at) < new Date(filters.to).getTime());

  /** @param {string | undefined} from @param {boolean} back */
  async function load(from, back) {
    if (!back && cursor !== undefined) previous.push(cursor);
    if (!back && cursor === undefined && from !== undefined) previous.push('');
    cursor = from || undefined;
    const params = listQuery();
    if (cursor) params.set('cursor', cursor);
    const page = /** @type {{ envelopes: Envelope[], next_cursor?: string }} */ (await api(`/envelopes?${params}`, { signal }));
    next = page.next_cursor;
    shown.clear();
    for (const e of page.envelopes) shown.set(e.id, e);
    replaceChildren(tbody, page.envelopes.map(row));
    if (page.envelopes.length === 0) tbody.appendChild(h('tr', {}, h('td', { colspan: 6 }, 'No envelopes match.')));
    older.disabled = !next;
    newer.disabled = previous.length === 0;
    summary.textContent = `${page.envelopes.length} envelope${page.envelopes.length === 1 ? '' : 's'} on this page${next ? ', more older ones' : ''}.`;
  }

  const started = performance.now();
  await load(undefined, false);
  performance.measure('asya-envelopes-first-page', { start: started, end: performance.now() });
  performance.mark('asya-envelopes-rendered');

  void follow('/console/api/updates', {
    signal,
    forever: true,
    onOpen: () => void (live.textContent = 'live'),
    onEvent: (update) => applyUpdate(update),
  });

  /**
   * The feed's frames carry a row's fields (gateway/console/feed.ts): the row changes without a read.
   * @typedef {{ id: string, status: string, tool_name?: string, parent_id?: string, current_actor?: string,
   *   actors?: string[], current_actor_idx?: number, created_at?: string, updated_at: string }} RowUpdate
   */
  /** What the list knows of an envelope from an update, over what the row held before. @param {RowUpdate} u @param {Envelope | undefined} before @returns {Envelope} */
  const merged = (u, before) => ({
    id: u.id,
    status: u.status,
    tool_name: u.tool_name ?? before?.tool_name,
    parent_id: u.parent_id ?? before?.parent_id,
    current_actor_name: u.current_actor,
    route: { actors: u.actors ?? before?.route.actors ?? [], current: u.current_actor_idx ?? before?.route.current ?? 0 },
    created_at: u.created_at ?? before?.created_at ?? u.updated_at,
    updated_at: u.updated_at,
  });
  /** @param {RowUpdate} update */
  function applyUpdate(update) {
    const tr = /** @type {HTMLElement | null} */ (tbody.querySelector(`tr[data-id="${CSS.escape(update.id)}"]`));
    const envelope = merged(update, shown.get(update.id));
    if (tr) {
      // A fan-out child's own first report can reach the gateway before its registration does, and it shows
      // as a root until then: once it is known as a child, it leaves a list of roots.
      if (envelope.parent_id && !filters.children) {
        shown.delete(envelope.id);
        tr.remove();
        return;
      }
      shown.set(envelope.id, envelope);
      fill(tr, envelope);
      tr.setAttribute('data-live-at', String(Date.now()));
      if (FINAL.has(envelope.status)) announce(`Envelope ${envelope.id} ${envelope.status}`);
      return;
    }
    // A new envelope shows at the top of the first page when it fits the filters.
    if (cursor !== undefined || !fits(envelope)) return;
    tbody.querySelector('tr:not([data-id])')?.remove();
    shown.set(envelope.id, envelope);
    const added = row(envelope);
    added.setAttribute('data-live-at', String(Date.now()));
    tbody.insertBefore(added, tbody.firstChild);
    while (tbody.children.length > PAGE_SIZE) {
      const last = tbody.lastElementChild;
      shown.delete(last?.getAttribute('data-id') ?? '');
      last?.remove();
    }
  }
}
