/**
 * A real HTTP server standing in for the gateway's internal endpoints, recording what sidecars send. It can
 * be told to answer slowly or with errors, to prove that a bad gateway costs the pipeline nothing. A batch of
 * progress reports (POST /progress) is recorded as one request per report, as POST /envelopes/{id}/progress
 * would have been, marked `batched`; `batches: false` makes it a gateway without that route (404).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { PROGRESS_BATCH_PATH } from '../../protocol/gateway-contract.ts';

export interface Recorded {
  method: string;
  path: string;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- recorded wire JSON
  authorization?: string;
  at: number;
  /** It came in a POST /progress batch. */
  batched?: boolean;
}

export interface FakeGateway {
  readonly url: string;
  readonly requests: Recorded[];
  /** Delay every answer by this many ms (0 = immediate). */
  delayMs: number;
  /** Status code to answer with. */
  status: number;
  /** Requests answered so far (a delayed request is recorded at once but answered later). */
  readonly answered: number;
  /** Batches answered 404 (with `batches: false`). */
  readonly batchRefusals: number;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => resolve(data));
  });
}

export async function startFakeGateway(options: { batches?: boolean } = {}): Promise<FakeGateway> {
  const requests: Recorded[] = [];
  const state = { delayMs: 0, status: 200, answered: 0, batchRefusals: 0 };
  const server: Server = createServer(async (req, res) => {
    const raw = await readBody(req);
    const path = req.url ?? '';
    const body = raw ? JSON.parse(raw) : undefined;
    const common = { method: req.method ?? '', authorization: req.headers.authorization, at: Date.now() };
    const batch = path === PROGRESS_BATCH_PATH;
    if (batch && options.batches === false) {
      state.batchRefusals++;
      return res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"Not found"}');
    }
    if (batch) {
      for (const { id, ...report } of body.reports) requests.push({ ...common, path: `/envelopes/${encodeURIComponent(id)}/progress`, body: report, batched: true });
    } else requests.push({ ...common, path, body });
    if (state.delayMs) await new Promise((r) => setTimeout(r, state.delayMs));
    state.answered++;
    res.writeHead(state.status, { 'content-type': 'application/json' }).end(batch ? '{"retry":[],"refused":[]}' : '{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(v) {
      state.delayMs = v;
    },
    get answered() {
      return state.answered;
    },
    get batchRefusals() {
      return state.batchRefusals;
    },
    get status() {
      return state.status;
    },
    set status(v) {
      state.status = v;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
