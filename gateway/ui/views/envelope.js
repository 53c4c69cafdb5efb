// @ts-check
/**
 * One envelope: its route with the current hop, its fan-out children as a tree, the timeline of every
 * update (live, from /envelopes/{id}/stream), the retry history, payload, result and error, a trace link
 * when ASYA_GATEWAY_TRACE_URL is set, and the cancel and replay buttons.
 */
import { api, ApiError, follow } from '../api.js';
import { announce, confirmAction, h, localTime, replaceChildren, shortDuration, statusBadge } from '../dom.js';
import { jsonView } from '../json-view.js';

const FINAL = new Set(['succeeded', 'failed']);
const CHILD_DEPTH = 4;
/** error-end's note when it schedules a retry (crew/retry-policy.ts, retryMessage). */
const RETRY_NOTE = /^retry \d+\/\d+ in /;

/**
 * @typedef {import('./envelopes.js').Envelope & { payload: unknown, result?: unknown, headers?: Record<string, unknown>,
 *   cancelled?: boolean, progress_percent: number, message?: string }} FullEnvelope
 * @typedef {{ status: string, message?: string, actor?: string, timestamp: string, envelope_state?: string, error?: string, progress_percent?: number, late?: boolean }} Update
 */

/** @param {HTMLElement} main @param {import('../app.js').ViewContext} ctx @param {string} id */
export async function envelopeView(main, { config, signal }, id) {
  /** @type {FullEnvelope} */
  let envelope;
  try {
    envelope = await api(`/envelopes/${encodeURIComponent(id)}`, { signal });
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      replaceChildren(main, h('h1', {}, 'Envelope not found'), h('p', {}, `No envelope ${id} here (or it is another caller's).`), h('a', { href: '#/envelopes' }, 'Back to the list'));
      return;
    }
    throw err;
  }
  const header = h('div', { class: 'envelope-head' });
  const actions = h('div', { class: 'actions' });
  const feedback = h('p', { id: 'action-feedback', role: 'status' });
  const route = h('section', { 'aria-labelledby': 'route-h' });
  const children = h('section', { 'aria-labelledby': 'children-h' }, h('h2', { id: 'children-h' }, 'Fan-out children'));
  const timeline = h('ol', { class: 'timeline', id: 'timeline' });
  const retries = h('ul', { class: 'retries', id: 'retries' });
  const documents = h('div', { class: 'documents' });
  replaceChildren(
    main,
    h('p', {}, h('a', { href: '#/envelopes' }, '← Envelopes')),
    h('h1', {}, 'Envelope ', h('span', { class: 'mono' }, id)),
    header,
    actions,
    feedback,
    route,
    children,
    h('section', { 'aria-labelledby': 'timeline-h' }, h('h2', { id: 'timeline-h' }, 'Timeline'), timeline),
    h('section', { 'aria-labelledby': 'retries-h' }, h('h2', { id: 'retries-h' }, 'Retry history'), retries),
    documents,
  );

  const render = () => {
    const created = Date.parse(envelope.created_at);
    const ended = FINAL.has(envelope.status) ? Date.parse(envelope.updated_at) : Date.now();
    const trace = traceLink(config.trace_url, envelope.headers);
    replaceChildren(
      header,
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'Status'), h('dd', { id: 'envelope-status' }, statusBadge(envelope.status), envelope.cancelled ? ' (cancelled)' : ''),
        h('dt', {}, 'Tool'), h('dd', {}, envelope.tool_name ?? '-'),
        envelope.parent_id ? [h('dt', {}, 'Parent'), h('dd', {}, h('a', { href: `#/envelopes/${encodeURIComponent(envelope.parent_id)}`, class: 'mono' }, envelope.parent_id))] : [],
        h('dt', {}, 'Created'), h('dd', {}, localTime(envelope.created_at)),
        h('dt', {}, 'Duration'), h('dd', {}, shortDuration(ended - created)),
        h('dt', {}, 'Progress'), h('dd', {}, `${Math.round(envelope.progress_percent)} %`),
        envelope.message ? [h('dt', {}, 'Message'), h('dd', {}, envelope.message)] : [],
        h('dt', {}, 'Trace'), h('dd', {}, trace ? h('a', { href: trace, target: '_blank', rel: 'noopener' }, 'Open the trace') : config.trace_url ? 'no traceparent header' : 'no trace UI configured (ASYA_GATEWAY_TRACE_URL)'),
      ),
    );
    replaceChildren(
      actions,
      FINAL.has(envelope.status) ? null : h('button', { type: 'button', id: 'cancel', class: 'danger', onclick: cancel }, 'Cancel envelope'),
      envelope.status === 'failed' && !envelope.cancelled && config.dlq ? h('button', { type: 'button', id: 'replay', onclick: replay }, 'Replay from the dead-letter queue') : null,
    );
    const actors = envelope.route.actors;
    const at = FINAL.has(envelope.status) ? -1 : envelope.route.current;
    replaceChildren(
      route,
      h('h2', { id: 'route-h' }, 'Route'),
      actors.length === 0
        ? h('p', {}, 'No actors.')
        : h('ol', { class: 'route', id: 'route' }, actors.map((actor, i) =>
            h('li', { class: i < envelope.route.current || envelope.status === 'succeeded' ? 'done' : i === at ? 'current' : 'ahead', 'aria-current': i === at ? 'step' : null },
              actor, i === at ? h('span', { class: 'visually-hidden' }, ' (current hop)') : null))),
    );
    // A failed envelope's result holds the error's details (type, message, traceback) as error-end reported them.
    const failed = envelope.status === 'failed';
    const resultTitle = failed ? 'Error details' : 'Result';
    replaceChildren(
      documents,
      envelope.error ? h('section', { 'aria-labelledby': 'error-h' }, h('h2', { id: 'error-h' }, 'Error'), h('pre', { class: 'error-text', id: 'envelope-error' }, errorText(envelope))) : null,
      envelope.result !== undefined ? h('section', { 'aria-labelledby': 'result-h' }, h('h2', { id: 'result-h' }, resultTitle), jsonView(envelope.result, resultTitle)) : null,
      h('section', { 'aria-labelledby': 'payload-h' }, h('h2', { id: 'payload-h' }, 'Payload'), jsonView(envelope.payload, 'Payload')),
    );
  };

  async function cancel() {
    if (!(await confirmAction(`Cancel envelope ${id}? Its unfinished fan-out children are cancelled too.`, 'Cancel envelope'))) return;
    try {
      envelope = await api(`/envelopes/${encodeURIComponent(id)}/cancel`, { method: 'POST', body: { reason: 'cancelled in the console' } });
      feedback.textContent = 'Cancelled.';
      render();
    } catch (err) {
      feedback.textContent = `Not cancelled: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  async function replay() {
    if (!(await confirmAction(`Replay envelope ${id} from the dead-letter queue? It goes back to the actor that failed.`, 'Replay'))) return;
    try {
      const { outcomes } = await api('/console/api/dlq/replay', { method: 'POST', body: { ids: [id] } });
      const outcome = outcomes[0];
      feedback.textContent = outcome?.ok ? `Replayed to ${outcome.target}.${outcome.warning ? ` ${outcome.warning}` : ''}` : `Not replayed: ${outcome?.error ?? 'no answer'}`;
      if (outcome?.ok) {
        envelope = await api(`/envelopes/${encodeURIComponent(id)}`, { signal });
        render();
        followUpdates();
      }
    } catch (err) {
      feedback.textContent = `Not replayed: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  render();
  void childTree(children, id, 0, signal);

  /** @param {Update} update */
  const addUpdate = (update) => {
    timeline.appendChild(
      h('li', { 'data-status': update.status },
        h('time', { datetime: update.timestamp }, localTime(update.timestamp)), ' ',
        statusBadge(update.status), ' ',
        update.actor ? h('span', { class: 'actor' }, update.actor) : null, ' ',
        update.message ?? update.error ?? update.envelope_state ?? '',
        update.late ? ' (late report)' : ''),
    );
    // error-end reports each retry it schedules, as "retry 1/3 in 0.3 s" (crew/retry-policy.ts, retryMessage);
    // a redelivery without one (the broker's, after a crash) shows as an actor receiving the envelope again.
    let retry = '';
    const state = update.envelope_state;
    if (update.message && RETRY_NOTE.test(update.message)) {
      retry = update.message;
      scheduled++;
    } else if ((state === 'received' || state === 'processing') && update.actor) {
      const times = (received.get(update.actor) ?? 0) + 1;
      received.set(update.actor, times);
      if (times > 1 && scheduled > 0) scheduled--;
      else if (times > 1) retry = `attempt ${times} at ${update.actor}`;
    }
    if (state === 'replayed') retry = update.message ?? 'replayed';
    if (retry) {
      retries.querySelector('.none')?.remove();
      retries.appendChild(h('li', {}, h('time', { datetime: update.timestamp }, localTime(update.timestamp)), ' ', retry));
    }
  };
  /** @type {Map<string, number>} deliveries seen per actor */
  const received = new Map();
  /** Retries error-end announced whose delivery has not shown yet. */
  let scheduled = 0;
  retries.appendChild(h('li', { class: 'none' }, 'No retries or replays.'));

  /** @type {AbortController | undefined} */
  let stream;
  let seen = 0;
  function followUpdates() {
    stream?.abort();
    stream = new AbortController();
    signal.addEventListener('abort', () => stream?.abort(), { once: true });
    void follow(`/envelopes/${encodeURIComponent(id)}/stream${seen ? `?last_event_id=${seen}` : ''}`, {
      signal: stream.signal,
      onEvent: (update, seq) => {
        seen = Math.max(seen, Number(seq) || 0);
        addUpdate(update);
        if (update.status !== envelope.status || FINAL.has(update.status)) {
          void api(`/envelopes/${encodeURIComponent(id)}`, { signal }).then((fresh) => {
            envelope = fresh;
            render();
            if (FINAL.has(fresh.status)) announce(`Envelope ${id} ${fresh.status}`);
          });
        }
      },
    });
  }
  followUpdates();
}

/**
 * The error code, the actor it failed at and, when the details carry them, the exception's type and message
 * (the gateway keeps a failure as { error, details: { type, message, traceback }, failed_actor }).
 * @param {FullEnvelope} envelope
 */
function errorText(envelope) {
  /** @param {unknown} v @returns {Record<string, unknown>} */
  const object = (v) => (v && typeof v === 'object' && !Array.isArray(v) ? /** @type {Record<string, unknown>} */ (v) : {});
  const failure = envelope.status === 'failed' ? object(envelope.result) : {};
  const details = object(failure.details);
  const text = (/** @type {unknown} */ v) => (typeof v === 'string' ? v : '');
  const message = text(details.message);
  return [
    `${envelope.error}${text(failure.failed_actor) ? ` at ${text(failure.failed_actor)}` : ''}`,
    message ? `${text(details.type) ? `${text(details.type)}: ` : ''}${message}` : '',
  ].filter(Boolean).join('\n');
}

/**
 * @param {string | null} template
 * @param {Record<string, unknown> | undefined} headers
 */
function traceLink(template, headers) {
  const parent = typeof headers?.traceparent === 'string' ? headers.traceparent : '';
  const traceId = /^[0-9a-f]{2}-([0-9a-f]{32})-/.exec(parent)?.[1];
  return template && traceId ? template.replaceAll('{trace_id}', traceId) : undefined;
}

/**
 * @param {HTMLElement} into @param {string} parent @param {number} depth @param {AbortSignal} signal
 */
async function childTree(into, parent, depth, signal) {
  const page = await api(`/envelopes?parent_id=${encodeURIComponent(parent)}&limit=200`, { signal });
  /** @type {import('./envelopes.js').Envelope[]} */
  const found = page.envelopes;
  if (found.length === 0) {
    if (depth === 0) into.appendChild(h('p', {}, 'None.'));
    return;
  }
  // Nested lists: a screen reader says the depth, and every link is on the tab path.
  const list = h('ul', { class: 'tree' });
  for (const child of found) {
    const item = h('li', {}, h('a', { href: `#/envelopes/${encodeURIComponent(child.id)}`, class: 'mono' }, child.id), ' ', statusBadge(child.status));
    list.appendChild(item);
    if (depth + 1 < CHILD_DEPTH) void childTree(item, child.id, depth + 1, signal);
  }
  if (page.next_cursor) list.appendChild(h('li', {}, 'more children not shown'));
  into.appendChild(list);
}
