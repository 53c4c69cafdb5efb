// @ts-check
/** The actors, where the gateway can know them: under `asya dev` every actor and the crew, refreshed. */
import { api } from '../api.js';
import { h, replaceChildren } from '../dom.js';

const REFRESH_MS = 2000;

/**
 * @typedef {{ name: string, state: string, queued?: number, inFlight: number, processed: number, errors: number, p50Ms?: number, p95Ms?: number }} Actor
 */

/** @param {number | undefined} ms */
const millis = (ms) => (ms === undefined || ms === null ? '-' : ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`);

/** @param {HTMLElement} main @param {import('../app.js').ViewContext} ctx */
export async function actorsView(main, { signal }) {
  const tbody = h('tbody', {});
  const note = h('p', { id: 'actors-note' });
  replaceChildren(
    main,
    h('h1', {}, 'Actors'),
    note,
    h('table', { class: 'list', id: 'actors' },
      h('caption', { class: 'visually-hidden' }, 'Actors'),
      h('thead', {}, h('tr', {}, ['Actor', 'State', 'Queue depth', 'In flight', 'Processed', 'Errors', 'p50', 'p95'].map((c) => h('th', { scope: 'col' }, c)))),
      tbody),
  );
  const load = async () => {
    /** @type {{ available: boolean, note?: string, actors: Actor[] }} */
    const answer = await api('/console/api/actors', { signal });
    note.textContent = answer.note ?? '';
    replaceChildren(tbody, answer.available
      ? answer.actors.map((a) => h('tr', { 'data-actor': a.name }, h('th', { scope: 'row' }, a.name), h('td', {}, a.state), h('td', {}, a.queued ?? '-'), h('td', {}, a.inFlight), h('td', {}, a.processed), h('td', {}, a.errors), h('td', {}, millis(a.p50Ms)), h('td', {}, millis(a.p95Ms))))
      : h('tr', {}, h('td', { colspan: 8 }, 'Not available from this gateway.')));
  };
  await load();
  const timer = setInterval(() => void load().catch(() => {}), REFRESH_MS);
  signal.addEventListener('abort', () => clearInterval(timer), { once: true });
}
