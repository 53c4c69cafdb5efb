// @ts-check
/**
 * The console's shell: the login, the navigation and a hash router (#/envelopes, #/envelopes/<id>, #/dlq,
 * #/tools, #/tools/<name>, #/actors). Each view renders into <main> and returns what stops its live streams
 * when the user leaves it.
 */
import { api, ApiError, setToken, token, whenUnauthorized } from './api.js';
import { h, replaceChildren } from './dom.js';
import { actorsView } from './views/actors.js';
import { dlqView } from './views/dlq.js';
import { envelopeView } from './views/envelope.js';
import { envelopesView } from './views/envelopes.js';
import { toolsView } from './views/tools.js';

/**
 * @typedef {{ trace_url: string | null, dlq: { queue: string } | null, actors: boolean, sees_all: boolean }} ConsoleConfig
 * @typedef {{ config: ConsoleConfig, query: URLSearchParams, signal: AbortSignal }} ViewContext
 * @typedef {(main: HTMLElement, ctx: ViewContext, ...params: string[]) => void | Promise<void>} View
 */

/** @type {Array<[RegExp, View, string]>} */
const ROUTES = [
  [/^\/envelopes\/([^/]+)$/, envelopeView, 'Envelope'],
  [/^\/envelopes$/, envelopesView, 'Envelopes'],
  [/^\/dlq$/, dlqView, 'Dead letters'],
  [/^\/tools\/([^/]+)$/, toolsView, 'Call a tool'],
  [/^\/tools$/, toolsView, 'Tools'],
  [/^\/actors$/, actorsView, 'Actors'],
];

const main = /** @type {HTMLElement} */ (document.getElementById('main'));
const nav = /** @type {HTMLElement} */ (document.getElementById('nav'));
const logout = /** @type {HTMLButtonElement} */ (document.getElementById('logout'));
/** @type {ConsoleConfig | undefined} */
let config;
/** @type {AbortController | undefined} */
let current;

async function start() {
  try {
    config = await api('/console/api/config');
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return showLogin();
    return showProblem(err);
  }
  nav.hidden = false;
  logout.hidden = token() === '';
  await route();
}

function showLogin(problem = '') {
  current?.abort();
  config = undefined;
  nav.hidden = true;
  logout.hidden = true;
  document.title = 'Sign in · Asya console';
  const input = /** @type {HTMLInputElement} */ (h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'current-password', required: true }));
  const form = h(
    'form',
    { class: 'login', onsubmit: async (/** @type {Event} */ e) => {
      e.preventDefault();
      setToken(input.value.trim());
      await start();
      if (!config) showLogin('The gateway refused that token.');
    } },
    h('h1', {}, 'Sign in'),
    h('p', {}, 'The console reads the gateway with a client token (ASYA_GATEWAY_API_TOKEN, or a named or admin token). It is kept in this tab only.'),
    h('label', { for: 'token' }, 'API token'),
    input,
    problem ? h('p', { class: 'error', role: 'alert' }, problem) : null,
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
  );
  replaceChildren(main, form);
  input.focus();
}

/** @param {unknown} err */
function showProblem(err) {
  replaceChildren(main, h('h1', {}, 'The gateway cannot be read'), h('p', { class: 'error', role: 'alert' }, err instanceof Error ? err.message : String(err)));
}

async function route() {
  if (!config) return;
  current?.abort();
  current = new AbortController();
  const [hashPath = '', search = ''] = location.hash.replace(/^#/, '').split('?');
  const path = hashPath || '/envelopes';
  const found = ROUTES.map(([pattern, view, title]) => /** @type {const} */ ([pattern.exec(path), view, title])).find(([m]) => m);
  for (const link of nav.querySelectorAll('a')) {
    const here = path.startsWith(link.getAttribute('href')?.slice(1) ?? '\0');
    if (here) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  replaceChildren(main);
  if (!found) {
    document.title = 'Not found · Asya console';
    replaceChildren(main, h('h1', {}, 'Not found'), h('p', {}, 'No such page. '), h('a', { href: '#/envelopes' }, 'Envelopes'));
    return;
  }
  const [match, view, title] = found;
  document.title = `${title} · Asya console`;
  try {
    await view(main, { config, query: new URLSearchParams(search), signal: current.signal }, ...(match ?? []).slice(1).map(decodeURIComponent));
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401) && !current.signal.aborted) showProblem(err);
  }
}

whenUnauthorized(() => {
  setToken('');
  showLogin(config ? 'The gateway refused the token; sign in again.' : '');
});
logout.addEventListener('click', () => {
  setToken('');
  showLogin();
});
window.addEventListener('hashchange', () => void route());
void start();
