/**
 * A real HTTP server standing in for the gateway's internal endpoints, recording what sidecars send. It can
 * be told to answer slowly or with errors, to prove that a bad gateway costs the pipeline nothing.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';

export interface Recorded {
  method: string;
  path: string;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- recorded wire JSON
  authorization?: string;
  at: number;
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
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => resolve(data));
  });
}

export async function startFakeGateway(): Promise<FakeGateway> {
  const requests: Recorded[] = [];
  const state = { delayMs: 0, status: 200, answered: 0 };
  const server: Server = createServer(async (req, res) => {
    const raw = await readBody(req);
    requests.push({
      method: req.method ?? '',
      path: req.url ?? '',
      body: raw ? JSON.parse(raw) : undefined,
      authorization: req.headers.authorization,
      at: Date.now(),
    });
    if (state.delayMs) await new Promise((r) => setTimeout(r, state.delayMs));
    state.answered++;
    res.writeHead(state.status, { 'content-type': 'application/json' }).end('{}');
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
