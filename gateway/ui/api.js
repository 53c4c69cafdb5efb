// @ts-check
/**
 * The console's only way to the gateway: the REST API and /console/api, with the token kept in
 * sessionStorage (gone when the tab closes). A 401 forgets the token and sends the user to the login.
 */

const TOKEN_KEY = 'asya.console.token';

export class ApiError extends Error {
  /** @param {number} status @param {string} message */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

/** @param {string} value */
export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** @type {() => void} */
let onUnauthorized = () => {};
/** @param {() => void} handler */
export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

/** @param {HeadersInit} [extra] */
function headers(extra = {}) {
  const h = new Headers(extra);
  const t = token();
  if (t) h.set('Authorization', `Bearer ${t}`);
  return h;
}

/**
 * @param {string} path
 * @param {{ method?: string, body?: unknown, signal?: AbortSignal }} [options]
 * @returns {Promise<any>} the JSON answer (its shape is the endpoint's; each view reads what it needs)
 */
export async function api(path, options = {}) {
  const init = /** @type {RequestInit} */ ({ method: options.method ?? 'GET', headers: headers(options.body === undefined ? {} : { 'Content-Type': 'application/json' }) });
  if (options.body !== undefined) init.body = JSON.stringify(options.body);
  if (options.signal) init.signal = options.signal;
  const res = await fetch(path, init);
  const text = await res.text();
  /** @type {any} */
  let body;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (res.status === 401) {
    onUnauthorized();
    throw new ApiError(401, body?.error ?? 'Unauthorized');
  }
  if (!res.ok) throw new ApiError(res.status, body?.error ?? `HTTP ${res.status}`);
  return body;
}

/**
 * Follows a server-sent event stream with the token (EventSource cannot send one), reconnecting with
 * Last-Event-ID after a drop. `onEvent` gets each `update` event's data; the stream ends when the server
 * closes it (a final envelope) or `signal` aborts.
 * @param {string} path
 * With `forever`, a stream the server ends is opened again (the list's feed outlives a gateway restart).
 * @param {{ onEvent: (data: any, id: string) => void, onOpen?: () => void, onEnd?: () => void, signal: AbortSignal, forever?: boolean }} handlers
 */
export async function follow(path, { onEvent, onOpen, onEnd, signal, forever = false }) {
  let lastId = '';
  let attempt = 0;
  while (!signal.aborted) {
    try {
      const res = await fetch(path, { headers: headers(lastId ? { 'Last-Event-ID': lastId } : {}), signal });
      if (res.status === 401) return onUnauthorized();
      if (!res.ok || !res.body) throw new ApiError(res.status, `stream answered HTTP ${res.status}`);
      attempt = 0;
      onOpen?.();
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          let id = '';
          const data = [];
          for (const line of frame.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('id:')) id = line.slice(3).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
          }
          if (id) lastId = id;
          if (event === 'update' && data.length > 0) onEvent(JSON.parse(data.join('\n')), id);
        }
      }
      // The server ended the stream: the envelope is final (or the gateway is shutting down).
      if (!forever) return onEnd?.();
      throw new ApiError(0, 'the stream ended');
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof ApiError && err.status === 404) return onEnd?.();
      attempt++;
      await new Promise((r) => setTimeout(r, Math.min(500 * 2 ** attempt, 10_000)));
    }
  }
}
