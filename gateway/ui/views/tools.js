// @ts-check
/**
 * The tools, and a form for each generated from its input schema: strings, numbers, integers, booleans and
 * enums get their own controls, arrays and objects a JSON field. A call goes to POST /tools/call, then its
 * progress is followed on /envelopes/{id}/stream, the stream `asya call` follows.
 */
import { api, follow } from '../api.js';
import { h, replaceChildren, statusBadge } from '../dom.js';
import { jsonView } from '../json-view.js';

/**
 * @typedef {{ type?: string, description?: string, enum?: unknown[], default?: unknown }} PropertySchema
 * @typedef {{ name: string, description?: string, input_schema: { properties?: Record<string, PropertySchema>, required?: string[] } }} Tool
 */

/** @param {HTMLElement} main @param {import('../app.js').ViewContext} ctx @param {string} [name] */
export async function toolsView(main, { signal }, name) {
  /** @type {{ tools: Tool[] }} */
  const { tools } = await api('/console/api/tools', { signal });
  if (name === undefined) {
    replaceChildren(
      main,
      h('h1', {}, 'Tools'),
      tools.length === 0
        ? h('p', {}, 'This gateway has no tools (ASYA_CONFIG_PATH).')
        : h('ul', { class: 'tools' }, tools.map((t) => h('li', {}, h('a', { href: `#/tools/${encodeURIComponent(t.name)}` }, t.name), t.description ? h('p', {}, t.description) : null))),
    );
    return;
  }
  const tool = tools.find((t) => t.name === name);
  if (!tool) {
    replaceChildren(main, h('h1', {}, 'Tool not found'), h('p', {}, `No tool ${name}.`), h('a', { href: '#/tools' }, 'Tools'));
    return;
  }
  const properties = tool.input_schema.properties ?? {};
  const required = new Set(tool.input_schema.required ?? []);
  const problem = h('p', { class: 'error', id: 'call-problem', role: 'alert' });
  const progress = h('section', { id: 'call-progress', 'aria-labelledby': 'progress-h', hidden: true });
  const form = h(
    'form',
    { class: 'tool-form', id: 'tool-form', onsubmit: (/** @type {Event} */ e) => void submit(e) },
    Object.entries(properties).map(([key, schema]) => control(key, schema, required.has(key))),
    h('button', { type: 'submit', class: 'primary' }, `Call ${tool.name}`),
  );
  replaceChildren(main, h('p', {}, h('a', { href: '#/tools' }, '← Tools')), h('h1', {}, tool.name), tool.description ? h('p', {}, tool.description) : null, form, problem, progress);

  /** @param {Event} e */
  async function submit(e) {
    e.preventDefault();
    problem.textContent = '';
    /** @type {Record<string, unknown>} */
    const args = {};
    for (const [key, schema] of Object.entries(properties)) {
      const el = /** @type {HTMLInputElement} */ (form.querySelector(`[name="${CSS.escape(key)}"]`));
      try {
        const value = read(el, schema);
        if (value !== undefined) args[key] = value;
      } catch (err) {
        problem.textContent = `${key}: ${err instanceof Error ? err.message : String(err)}`;
        el.focus();
        return;
      }
    }
    let answer;
    try {
      answer = await api('/tools/call', { method: 'POST', body: { name: tool?.name, arguments: args } });
    } catch (err) {
      problem.textContent = `The call was refused: ${err instanceof Error ? err.message : String(err)}`;
      return;
    }
    const text = answer?.content?.[0]?.text ?? '';
    if (answer?.isError) {
      problem.textContent = `The call was refused: ${text}`;
      return;
    }
    let id;
    try {
      id = JSON.parse(text).envelope_id;
    } catch {
      id = undefined;
    }
    if (!id) {
      problem.textContent = `Unexpected answer: ${text}`;
      return;
    }
    watch(String(id));
  }

  /** @param {string} id */
  function watch(id) {
    const status = h('p', { id: 'call-status', role: 'status' }, statusBadge('pending'));
    const bar = h('progress', { max: 100, value: 0, id: 'call-bar', 'aria-label': 'Progress' });
    const lines = h('ol', { class: 'timeline' });
    const outcome = h('div', { id: 'call-outcome' });
    progress.hidden = false;
    replaceChildren(progress, h('h2', { id: 'progress-h' }, 'Progress of ', h('a', { href: `#/envelopes/${encodeURIComponent(id)}`, class: 'mono', id: 'call-envelope' }, id)), status, bar, lines, outcome);
    void follow(`/envelopes/${encodeURIComponent(id)}/stream`, {
      signal,
      onEvent: (update) => {
        replaceChildren(status, statusBadge(update.status), update.actor ? ` at ${update.actor}` : '');
        if (typeof update.progress_percent === 'number') /** @type {HTMLProgressElement} */ (bar).value = update.progress_percent;
        lines.appendChild(h('li', {}, statusBadge(update.status), ' ', update.actor ?? '', ' ', update.message ?? ''));
      },
      onEnd: () => {
        void api(`/envelopes/${encodeURIComponent(id)}`, { signal }).then((envelope) => {
          replaceChildren(status, statusBadge(envelope.status));
          replaceChildren(outcome, envelope.status === 'succeeded' ? [h('h3', {}, 'Result'), jsonView(envelope.result, 'Result')] : [h('h3', {}, 'Error'), h('pre', { class: 'error-text' }, envelope.error ?? 'failed')]);
        });
      },
    });
  }
}

/** @param {string} key @param {PropertySchema} schema @param {boolean} needed */
function control(key, schema, needed) {
  const id = `arg-${key}`;
  const described = schema.description ? `${id}-doc` : null;
  const common = { id, name: key, required: needed && schema.type !== 'boolean', 'aria-describedby': described };
  /** @type {HTMLElement} */
  let input;
  if (Array.isArray(schema.enum)) {
    input = h('select', common, needed ? null : h('option', { value: '' }, '(not set)'), schema.enum.map((v) => h('option', { value: JSON.stringify(v), selected: v === schema.default }, String(v))));
  } else if (schema.type === 'boolean') {
    input = h('input', { ...common, type: 'checkbox', checked: schema.default === true });
  } else if (schema.type === 'integer' || schema.type === 'number') {
    input = h('input', { ...common, type: 'number', step: schema.type === 'integer' ? 1 : 'any', value: typeof schema.default === 'number' ? schema.default : null });
  } else if (schema.type === 'object' || schema.type === 'array') {
    input = h('textarea', { ...common, rows: 4, class: 'mono' }, schema.default !== undefined ? JSON.stringify(schema.default, null, 2) : '');
  } else {
    input = h('textarea', { ...common, rows: 2 }, typeof schema.default === 'string' ? schema.default : '');
  }
  return h(
    'div',
    { class: `field${schema.type === 'boolean' ? ' checkbox' : ''}` },
    h('label', { for: id }, key, needed ? h('span', { 'aria-hidden': 'true' }, ' *') : null, ` (${schema.type ?? 'any'})`),
    input,
    described ? h('p', { id: described, class: 'hint' }, schema.description ?? '') : null,
  );
}

/** @param {HTMLInputElement} el @param {PropertySchema} schema */
function read(el, schema) {
  if (Array.isArray(schema.enum)) return el.value === '' ? undefined : JSON.parse(el.value);
  if (schema.type === 'boolean') return el.checked;
  const raw = el.value.trim();
  if (raw === '') return undefined;
  if (schema.type === 'integer' || schema.type === 'number') {
    const n = Number(raw);
    if (!Number.isFinite(n) || (schema.type === 'integer' && !Number.isInteger(n))) throw new Error(`expected ${schema.type === 'integer' ? 'an integer' : 'a number'}`);
    return n;
  }
  if (schema.type === 'object' || schema.type === 'array') {
    try {
      return JSON.parse(raw);
    } catch {
      throw new Error(`expected JSON (${schema.type})`);
    }
  }
  return el.value;
}
