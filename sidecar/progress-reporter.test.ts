/**
 * Coalesced progress: fewer reports reach the gateway, but never a stale one last, never one envelope's two
 * reports at once or reversed, and never a progress report after that envelope's final. The same holds
 * whether reports go in batches (POST /progress) or one by one to a gateway without that route.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createLogger, succeededReport, type ProgressReport } from '../protocol/index.ts';
import { httpReporter } from './progress-reporter.ts';

type Body = { id?: string; status?: string; current_actor_idx?: number };

interface Held {
  path: string;
  /** The report (the first of a batch). */
  body: Body;
  /** Every report a batch carries; the one report of any other request. */
  reports: Body[];
  /** Answers with the route's usual answer, or with `text` and `status`. */
  answer(text?: string, status?: number): void;
}

/** Each report's line in the log, a batched one written as if it had come alone. */
const line = (path: string, body: Body) => `${body.id === undefined ? path : `/envelopes/${body.id}/progress`} ${body.status ?? ''}@${body.current_actor_idx ?? ''}`;

/**
 * A gateway whose answers the test releases: every request is held until answered. Without `batches` it has
 * no POST /progress (404, as an older gateway), and logs nothing for it.
 */
async function heldGateway(batches: boolean) {
  const held: Held[] = [];
  const log: string[] = [];
  let batchRefusals = 0;
  let open = false;
  const ok = (path: string) => (path === '/progress' ? '{"retry":[],"refused":[]}' : '{"status":"ok"}');
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const path = req.url ?? '';
      if (path === '/progress' && !batches) {
        batchRefusals++;
        return res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"Not found: POST /progress"}');
      }
      const body = JSON.parse(raw) as Body & { reports?: Body[] };
      const reports = path === '/progress' ? body.reports! : [body];
      for (const r of reports) log.push(line(path, path === '/progress' ? r : { ...r, id: undefined }));
      const answer = (text = ok(path), status = 200) => res.writeHead(status, { 'content-type': 'application/json' }).end(text);
      if (open) return answer();
      held.push({ path, body: reports[0]!, reports, answer });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    held,
    log,
    get batchRefusals() {
      return batchRefusals;
    },
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

describe.each([
  { mode: 'in batches', batches: true },
  { mode: 'one by one, to a gateway without POST /progress', batches: false },
])('httpReporter coalescing, $mode', ({ batches }) => {
  let gw: Awaited<ReturnType<typeof heldGateway>>;
  beforeEach(async () => {
    gw = await heldGateway(batches);
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

  test('different envelopes report together (in parallel up to maxInFlight, one by one), and every one arrives', async () => {
    const r = reporter(3);
    // Completed reports are ready at once: a processing one's wait ends a little later for each of the five,
    // and on a busy machine the first may leave alone before the last is ready.
    for (const id of ['e1', 'e2', 'e3', 'e4', 'e5']) r.progress(id, report('completed', 1));
    // In batches, what is ready leaves in one request.
    await expect.poll(() => gw.held.map((h) => h.reports.length)).toEqual(batches ? [5] : [1, 1, 1]);
    gw.openUp();
    await r.flush();
    expect([...gw.log].sort()).toEqual(['e1', 'e2', 'e3', 'e4', 'e5'].map((id) => `/envelopes/${id}/progress completed@1`));
  });

  test('a final is sent only after the progress queued before it was answered', async () => {
    const r = reporter();
    r.progress('e1', report('completed', 1));
    r.progress('e2', report('processing', 0));
    const final = r.final('e1', succeededReport({ id: 'e1', route: { actors: ['a', 'b'], current: 2 }, payload: { ok: true } }));
    await expect.poll(() => gw.held.length).toBe(batches ? 1 : 2);
    await new Promise((resolve) => setImmediate(resolve));
    expect(gw.held.map((h) => h.path).sort()).toEqual(batches ? ['/progress'] : ['/envelopes/e1/progress', '/envelopes/e2/progress']);
    expect(gw.held.flatMap((h) => h.reports.map((b) => b.status)).sort()).toEqual(['completed', 'processing']);
    for (const h of gw.held.splice(0)) h.answer();
    await expect.poll(() => gw.held.length).toBe(1);
    expect(gw.held[0]!.path).toBe('/envelopes/e1/final');
    gw.openUp();
    await final;
    expect(gw.log.at(-1)).toBe('/envelopes/e1/final succeeded@');
  });
});

describe('httpReporter batches', () => {
  let gw: Awaited<ReturnType<typeof heldGateway>>;
  beforeEach(async () => {
    gw = await heldGateway(true);
  });
  afterEach(async () => {
    gw.openUp();
    await gw.close();
  });
  const ids = (h: Held | undefined) => h?.reports.map((b) => `${b.id} ${b.status}@${b.current_actor_idx}`);

  test('reports that become ready while a batch is on its way gather for the next one; a registration does not wait', async () => {
    const r = httpReporter({ url: gw.url, log: createLogger('ERROR', 'test.reporter') });
    r.progress('e1', report('completed', 1));
    await expect.poll(() => gw.held.length).toBe(1);
    r.progress('e2', report('completed', 1));
    r.progress('e3', report('completed', 1));
    r.child({ id: 'p-0', parent_id: 'p', actors: ['a', 'b'], current: 1, index: 0, count: 1 });
    await expect.poll(() => gw.held.map((h) => h.path)).toEqual(['/progress', '/envelopes']);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(gw.held).toHaveLength(2);
    gw.held.shift()!.answer();
    await expect.poll(() => gw.held.length).toBe(2);
    expect(ids(gw.held[1])).toEqual(['e2 completed@1', 'e3 completed@1']);
    gw.openUp();
    await r.flush();
    expect(gw.batchRefusals).toBe(0);
  });

  test('a report the gateway asks for again is sent again after its delay, unless a newer one replaced it; a refused one is not; neither holds up the rest', async () => {
    const warnings: string[] = [];
    const log = createLogger('WARNING', 'test.reporter', { write: (line) => warnings.push(line) });
    const r = httpReporter({ url: gw.url, log, retryDelayMs: 100 });
    for (const id of ['e1', 'e2', 'e3']) r.progress(id, report('completed', 1));
    await expect.poll(() => ids(gw.held[0])).toEqual(['e1 completed@1', 'e2 completed@1', 'e3 completed@1']);
    // A newer report about e3 while its first is on its way: it replaces the one the gateway will ask for.
    r.progress('e3', report('completed', 2));
    gw.held.shift()!.answer(JSON.stringify({ retry: [0, 2], refused: [{ index: 1, error: 'Invalid status' }] }));
    r.progress('e4', report('completed', 1));
    // e3's newer report and e4's leave at once; e1's second try waits for its delay.
    await expect.poll(() => ids(gw.held[0])).toEqual(['e3 completed@2', 'e4 completed@1']);
    gw.held.shift()!.answer();
    await expect.poll(() => ids(gw.held[0]), { timeout: 2000 }).toEqual(['e1 completed@1']);
    gw.openUp();
    await r.flush();
    expect(gw.log.filter((l) => l.startsWith('/envelopes/e2/'))).toHaveLength(1);
    expect(gw.log.filter((l) => l.startsWith('/envelopes/e3/'))).toEqual(['/envelopes/e3/progress completed@1', '/envelopes/e3/progress completed@2']);
    expect(warnings.join('\n')).toContain('Gateway refused the progress report for e2: Invalid status');
  });

  test('a batch the gateway fails is tried again, and given up after `attempts` tries with a warning', async () => {
    const warnings: string[] = [];
    const log = createLogger('WARNING', 'test.reporter', { write: (line) => warnings.push(line) });
    const r = httpReporter({ url: gw.url, log, attempts: 2, retryDelayMs: 10 });
    r.progress('e1', report('completed', 1));
    await expect.poll(() => gw.held.length).toBe(1);
    gw.held.shift()!.answer('{"error":"database away"}', 503);
    await expect.poll(() => gw.held.length).toBe(1);
    gw.held.shift()!.answer('not json');
    await r.flush();
    expect(gw.log).toEqual(['/envelopes/e1/progress completed@1', '/envelopes/e1/progress completed@1']);
    expect(warnings.join('\n')).toContain('Gateway progress report for e1 not taken after 2 tries');
  });

  test('a gateway without POST /progress is asked once, and then gets every report on its own', async () => {
    await gw.close();
    gw = await heldGateway(false);
    const r = httpReporter({ url: gw.url, log: createLogger('ERROR', 'test.reporter') });
    gw.openUp();
    for (const id of ['e1', 'e2']) r.progress(id, report('completed', 1));
    await r.flush();
    r.progress('e3', report('completed', 1));
    await r.flush();
    expect(gw.batchRefusals).toBe(1);
    expect(gw.log.sort()).toEqual(['e1', 'e2', 'e3'].map((id) => `/envelopes/${id}/progress completed@1`));
  });
});
