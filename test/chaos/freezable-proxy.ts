/**
 * A TCP proxy in front of the broker that a test can freeze: while frozen, what the client sends is held in
 * the proxy instead of reaching the broker. A client killed while frozen loses what it sent, as a process
 * loses what it had not yet put on the wire when it crashed; on thaw, held bytes are delivered in order.
 *
 * This is how the chaos suite catches the gateway between saving an envelope and publishing it. A broker
 * memory alarm (`set_vm_memory_high_watermark 0`) did not: RabbitMQ stops reading the blocked connection,
 * but the publish has already reached the broker's host, and in our runs the broker routed it once the
 * alarm cleared, after the gateway was dead, so nothing was ever caught between save and publish.
 */
import net from 'node:net';

export interface FreezableProxy {
  readonly port: number;
  freeze(): void;
  thaw(): void;
  /** Bytes held right now, from every connection: proof that a frozen client tried to send. */
  heldBytes(): number;
  close(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  upstream: net.Socket;
  held: Buffer[];
}

export async function startFreezableProxy(targetPort: number): Promise<FreezableProxy> {
  let frozen = false;
  const pairs = new Set<Pair>();
  const flush = (pair: Pair) => {
    for (const chunk of pair.held.splice(0)) pair.upstream.write(chunk);
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    const pair: Pair = { client, upstream, held: [] };
    pairs.add(pair);
    const close = () => {
      pairs.delete(pair);
      // A client gone while frozen loses what it sent; the broker sees the connection drop.
      pair.held = [];
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      if (frozen) pair.held.push(chunk);
      else upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    for (const socket of [client, upstream]) {
      socket.on('error', close);
      socket.on('close', close);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    freeze: () => {
      frozen = true;
    },
    thaw: () => {
      frozen = false;
      for (const pair of pairs) flush(pair);
    },
    heldBytes: () => [...pairs].reduce((sum, p) => sum + p.held.reduce((s, c) => s + c.length, 0), 0),
    async close() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
