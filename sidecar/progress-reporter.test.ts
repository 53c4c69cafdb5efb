/**
 * Coalesced progress: fewer reports reach the gateway, but never a stale one last, never one envelope's two
 * reports at once or reversed, and never a progress report after that envelope's final.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createLogger, succeededReport, type ProgressReport } from '../protocol/index.ts';
import { httpReporter } from './progress-reporter.ts';

interface Held {
  path: string;
  body: { status?: string; current_actor_idx?: number };
  answer(): void;
}

/** A gateway whose answers the test releases: every request is held until answered. */
async function heldGateway() {
  const held: Held[] = [];
  const log: string[] = [];
  let open = false;
  const answer = (res: ServerResponse) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
  const server = createServer((req: IncomingMessage, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw) as Held['body'];
      log.push(`${req.url} ${body.status ?? ''}@${body.current_actor_idx ?? ''}`);
      if (open) return answer(res);
      held.push({ path: req.url ?? '', body, answer: () => answer(res) });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    held,
    log,
    /** Answers what is held and everything from now on. */
    openUp() {
      open = true;
      for (const h of held.splice(0)) h.answer();
    },
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

const report = (status: ProgressReport['status'], idx: number): ProgressReport => ({ actors: ['a', 'b'], current_actor_idx: idx, status, message: `${status} ${idx}` });

describe('httpReporter coalescing', () => {
  let gw: Awaited<ReturnType<typeof heldGateway>>;
  beforeEach(async () => {
    gw = await heldGateway();
  });
  afterEach(async () => {
    gw.openUp();
    await gw.close();
  });
  const reporter = (maxInFlight?: number) => httpReporter({ url: gw.url, log: createLogger('ERROR', 'test.reporter'), ...(maxInFlight ? { maxInFlight } : {}) });

  test('reports made in one turn for one envelope leave as one, the latest', async () => {
    const r = reporter();
    r.progress('e1', report('received', 0));
    r.progress('e1', report('processing', 0));
    await expect.poll(() => gw.held.length).toBe(1);
    gw.openUp();
    await r.flush();
    expect(gw.log).toEqual(['/envelopes/e1/progress processing@0']);
    expect(r.coalesced).toBe(1);
  });

  test("a hop's completed replaces its waiting processing and leaves at once; a processing alone waits until flushed", async () => {
    // A wait no test outlasts: whatever reaches the gateway did not wait for it.
    const r = httpReporter({ url: gw.url, log: createLogger('ERROR', 'test.reporter'), coalesceMs: 600_000 });
    gw.openUp();
    r.progress('fast', report('received', 0));
    r.progress('fast', report('processing', 0));
    r.progress('slow', report('processing', 0));
    await new Promise((resolve) => setImmediate(resolve));
    r.progress('fast', report('completed', 1));
    await expect.poll(() => gw.log).toEqual(['/envelopes/fast/progress completed@1']);
    expect(r.coalesced).toBe(2);
    // An end actor's final flushes first, so nothing queued before it arrives after it.
    await r.flush();
    expect(gw.log).toEqual(['/envelopes/fast/progress completed@1', '/envelopes/slow/progress processing@0']);
  });

  test('a processing report leaves by itself once its wait is over, and a completed then follows it', async () => {
    const r = httpReporter({ url: gw.url, log: createLogger('ERROR', 'test.reporter'), coalesceMs: 20 });
    gw.openUp();
    r.progress('slow', report('processing', 0));
    await expect.poll(() => gw.log).toEqual(['/envelopes/slow/progress processing@0']);
    r.progress('slow', report('completed', 1));
    await expect.poll(() => gw.log).toEqual(['/envelopes/slow/progress processing@0', '/envelopes/slow/progress completed@1']);
    expect(r.coalesced).toBe(0);
  });

  test("one envelope's reports leave one at a time, in order, the newest replacing the waiting one and arriving last", async () => {
    const r = reporter();
    r.progress('e1', report('processing', 0));
    await expect.poll(() => gw.held.length).toBe(1);
    // While the first is unanswered, three more come: only the newest of them waits, and it is not sent yet.
    r.progress('e1', report('completed', 1));
    r.progress('e1', report('processing', 1));
    r.progress('e1', report('completed', 2));
    await new Promise((resolve) => setImmediate(resolve));
    expect(gw.held).toHaveLength(1);
    gw.held.shift()!.answer();
    await expect.poll(() => gw.held.length).toBe(1);
    expect(gw.held[0]!.body).toMatchObject({ status: 'completed', current_actor_idx: 2 });
    gw.openUp();
    await r.flush();
    expect(gw.log).toEqual(['/envelopes/e1/progress processing@0', '/envelopes/e1/progress completed@2']);
    expect(r.coalesced).toBe(2);
    expect(r.dropped).toBe(0);
  });

  test('different envelopes report in parallel, up to maxInFlight, and every one arrives', async () => {
    const r = reporter(3);
    for (const id of ['e1', 'e2', 'e3', 'e4', 'e5']) r.progress(id, report('processing', 0));
    await expect.poll(() => gw.held.length).toBe(3);
    gw.openUp();
    await r.flush();
    expect([...gw.log].sort()).toEqual(['e1', 'e2', 'e3', 'e4', 'e5'].map((id) => `/envelopes/${id}/progress processing@0`));
  });

  test('a final is sent only after the progress queued before it was answered', async () => {
    const r = reporter();
    r.progress('e1', report('completed', 1));
    r.progress('e2', report('processing', 0));
    const final = r.final('e1', succeededReport({ id: 'e1', route: { actors: ['a', 'b'], current: 2 }, payload: { ok: true } }));
    await expect.poll(() => gw.held.length).toBe(2);
    await new Promise((resolve) => setImmediate(resolve));
    expect(gw.held.map((h) => h.path).sort()).toEqual(['/envelopes/e1/progress', '/envelopes/e2/progress']);
    for (const h of gw.held.splice(0)) h.answer();
    await expect.poll(() => gw.held.length).toBe(1);
    expect(gw.held[0]!.path).toBe('/envelopes/e1/final');
    gw.openUp();
    await final;
    expect(gw.log.at(-1)).toBe('/envelopes/e1/final succeeded@');
  });
});
