/**
 * A TCP relay in front of a shared server (PostgreSQL, RabbitMQ) that a test can hurt without touching the
 * server or other test files' connections.
 * - down(): closes the listening socket (new connections are refused, as with a stopped server) and resets
 *   every live connection; up() listens on the same port again.
 * - stall(): keeps every connection open but stops passing the client's bytes on, the way RabbitMQ's memory
 *   or disk alarm stops reading from publishing connections: a publish is sent and never confirmed.
 * - holdAnswers(): passes the client's bytes on but keeps the server's answers back until releaseAnswers(),
 *   the way a slow network or an overloaded server makes a client give up on a request the server did.
 */
import net from 'node:net';

export interface TcpRelay {
  /** The target URL rewritten to go through the relay. */
  readonly url: string;
  readonly port: number;
  down(): Promise<void>;
  up(): Promise<void>;
  stall(): void;
  holdAnswers(): void;
  releaseAnswers(): void;
  /** Connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

export async function startTcpRelay(targetUrl: string, defaultPort: number): Promise<TcpRelay> {
  const target = new URL(targetUrl);
  const targetHost = target.hostname;
  const targetPort = Number(target.port || defaultPort);
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  let server: net.Server | undefined;
  let port = 0;
  let stalled = false;
  let holding = false;
  let accepted = 0;

  const stallPair = ({ client, upstream }: { client: net.Socket; upstream: net.Socket }) => {
    client.unpipe(upstream);
    // Read and drop: the client's writes succeed as they would into a full socket buffer that never drains.
    client.on('data', () => {});
  };

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = net.createServer((client) => {
        const upstream = net.connect(targetPort, targetHost);
        const pair = { client, upstream };
        pairs.add(pair);
        accepted++;
        const drop = () => {
          pairs.delete(pair);
          client.destroy();
          upstream.destroy();
        };
        client.on('error', drop).on('close', drop);
        upstream.on('error', drop).on('close', drop);
        client.pipe(upstream);
        upstream.pipe(client);
        if (stalled) stallPair(pair);
        if (holding) upstream.unpipe(client);
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as net.AddressInfo).port;
        server = s;
        resolve();
      });
    });

  const stop = async () => {
    const s = server;
    server = undefined;
    for (const { client, upstream } of pairs) {
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    }
    pairs.clear();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };

  await listen();
  const url = new URL(targetUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    port,
    down: stop,
    async up() {
      if (!server) await listen();
    },
    stall() {
      stalled = true;
      for (const pair of pairs) stallPair(pair);
    },
    holdAnswers() {
      holding = true;
      for (const { client, upstream } of pairs) upstream.unpipe(client);
    },
    releaseAnswers() {
      holding = false;
      for (const { client, upstream } of pairs) upstream.pipe(client);
    },
    get connections() {
      return accepted;
    },
    close: stop,
  };
}
