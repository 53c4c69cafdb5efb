/**
 * The load generator's HTTP client: node:http on keep-alive sockets. It shares the machine's two cores with
 * the gateway, so its own cost per request comes straight out of the gateway's throughput; fetch (undici)
 * spent about three times what node:http does per request here, more than the gateway's whole handling of
 * a tool call. The raw baseline has no HTTP client at all, so the cheaper client is the fairer comparison.
 * ASYA_BENCH_HTTP_CLIENT=fetch switches back to fetch, to compare with runs made before.
 */
import http from 'node:http';

export interface HttpAnswer {
  status: number;
  text: string;
  headers: http.IncomingHttpHeaders;
}

/** How long a kept-alive socket may sit unused before this client closes it. */
const IDLE_SOCKET_MS = 15_000;

export class BenchClient {
  private readonly agent: http.Agent;
  private readonly host: string;
  private readonly port: number;
  private readonly useFetch = process.env.ASYA_BENCH_HTTP_CLIENT === 'fetch';

  constructor(private readonly baseUrl: string, sockets: number) {
    const url = new URL(baseUrl);
    this.host = url.hostname;
    this.port = Number(url.port);
    // Idle sockets are closed here long before the gateway's keep-alive timeout (65 s) closes them: a socket
    // the server closes just as a request goes out on it fails that request (ECONNRESET). Node's own margin,
    // a second under the server's announced timeout, is not enough when a saturated step delays this
    // process's timers by about that much.
    this.agent = new http.Agent({ keepAlive: true, maxSockets: sockets, timeout: IDLE_SOCKET_MS });
  }

  request(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
    if (this.useFetch) return this.viaFetch(method, path, body, headers);
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: this.host, port: this.port, method, path, agent: this.agent,
          headers: body === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
          res.on('error', reject);
        },
      );
      // Which request and which kind of connection: a reset on a reused keep-alive socket is the server
      // closing an idle connection as the request went out, not the request's own failure.
      req.on('error', (err: NodeJS.ErrnoException) =>
        reject(new Error(`${method} ${path.replace(/\/envelopes\/[^/?]+/, '/envelopes/:id').split('?')[0]}: ${err.message}${req.reusedSocket ? ' (reused keep-alive connection)' : ''}`)),
      );
      req.end(body);
    });
  }

  private async viaFetch(method: string, path: string, body: string | undefined, headers: Record<string, string>): Promise<HttpAnswer> {
    const res = await fetch(`${this.baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
    const text = await res.text();
    return { status: res.status, text, headers: Object.fromEntries(res.headers) };
  }

  close(): void {
    this.agent.destroy();
  }
}
