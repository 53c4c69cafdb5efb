/**
 * One JSON POST to the gateway over node:http on keep-alive sockets. Sidecars post a few progress reports per
 * message and end actors a final each: fetch (undici) cost about three times node:http's CPU per request on
 * this project's machine (bench/gateway/http-client.ts measured it for the load generator), which made the
 * reports a sidecar's largest cost per message in bench/e2e. Any failure to get an answer (refused, reset,
 * timed out) rejects; every answer resolves, whatever its status.
 */
import http from 'node:http';
import https from 'node:https';

const agents = {
  'http:': new http.Agent({ keepAlive: true }),
  'https:': new https.Agent({ keepAlive: true }),
};

/** Answers longer than this are cut unless the caller reads more: most only quote them in errors and look for a few fields. */
const ANSWER_MAX_CHARS = 300;

export function postJson(
  url: string,
  path: string,
  body: unknown,
  options: { token?: string; timeoutMs: number; maxAnswerChars?: number },
): Promise<{ status: number; text: string }> {
  const maxChars = options.maxAnswerChars ?? ANSWER_MAX_CHARS;
  const target = new URL(`${url.replace(/\/+$/, '')}${path}`);
  const agent = agents[target.protocol as keyof typeof agents];
  if (!agent) return Promise.reject(new Error(`unsupported gateway URL ${url}: http or https only`));
  const payload = Buffer.from(JSON.stringify(body));
  const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': payload.length };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const send = target.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve, reject) => {
    // A plain timer, not AbortSignal.timeout(): the signal's listeners and its DOMException took 2.3% of a
    // sidecar's busy time in bench/e2e, more than this function's own code.
    const timer = setTimeout(() => req.destroy(new Error(`no answer from the gateway within ${options.timeoutMs} ms`)), options.timeoutMs);
    // As AbortSignal.timeout's was: the deadline alone never keeps a process from exiting.
    timer.unref();
    const fail = (err: Error) => {
      clearTimeout(timer);
      reject(err);
    };
    const req = send(target, { method: 'POST', headers, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (text.length < maxChars) text += chunk;
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, text: text.slice(0, maxChars) });
      });
      res.on('error', fail);
    });
    req.on('error', fail);
    req.end(payload);
  });
}
