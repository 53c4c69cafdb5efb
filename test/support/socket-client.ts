/** Raw socket calls to a runtime, including deliberately broken frames. */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { announcesKeepAlive, encodeFrame, framePrefix, READY_FILE, readFrame } from '../../protocol/index.ts';
import { RuntimeClient } from '../../sidecar/runtime-client.ts';

/** Sends raw bytes, optionally half-closes, and returns the decoded JSON response. */
export function sendRaw(socketPath: string, bytes: Buffer, endAfter = true): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    socket.once('error', reject);
    socket.once('connect', () => {
      readFrame(socket, Number.MAX_SAFE_INTEGER)
        .then((frame) => resolve(JSON.parse(frame.toString('utf8'))))
        .catch(reject)
        .finally(() => socket.destroy());
      socket.write(bytes);
      if (endAfter) socket.end();
    });
  });
}

export function call(socketPath: string, request: unknown): Promise<unknown> {
  const body = typeof request === 'string' ? request : JSON.stringify(request);
  return sendRaw(socketPath, encodeFrame(body), false);
}

/** True when something accepts a connection on the socket path (a runtime that still listens). */
export function accepts(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * How a test talks to a runtime: `per-request` is the original protocol (one raw connection per request);
 * `keep-alive` goes through the sidecar's own client, which reuses its connections.
 */
export type ConnectionMode = 'per-request' | 'keep-alive';
export const CONNECTION_MODES: readonly ConnectionMode[] = ['per-request', 'keep-alive'];

export interface RuntimeCaller {
  call(socketPath: string, request: unknown): Promise<unknown>;
  /** A whole request frame, with the keep-alive bit in that mode. */
  frame(body: Buffer | string): Buffer;
  /** A length prefix alone, with the keep-alive bit in that mode. */
  prefix(bodyBytes: number): Buffer;
  close(): void;
}

export function runtimeCaller(mode: ConnectionMode): RuntimeCaller {
  const clients = new Map<string, RuntimeClient>();
  const keepAlive = mode === 'keep-alive';
  const clientFor = (socketPath: string) => {
    let client = clients.get(socketPath);
    if (!client) {
      const readyFile = join(dirname(socketPath), READY_FILE);
      // Without the announcement the client would quietly fall back to a connection per request.
      if (!announcesKeepAlive(readFileSync(readyFile, 'utf8'))) throw new Error(`${readyFile} does not announce keep-alive`);
      client = new RuntimeClient({ socketPath, readyFile, keepAlive: true, maxIdle: 32 });
      clients.set(socketPath, client);
    }
    return client;
  };
  return {
    call(socketPath, request) {
      if (!keepAlive) return call(socketPath, request);
      const body = Buffer.from(typeof request === 'string' ? request : JSON.stringify(request), 'utf8');
      return clientFor(socketPath).call(body, { timeoutMs: 60_000, maxFrameBytes: Number.MAX_SAFE_INTEGER });
    },
    frame(body) {
      const data = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
      return Buffer.concat([framePrefix(data.length, keepAlive), data]);
    },
    prefix: (bodyBytes) => framePrefix(bodyBytes, keepAlive),
    close() {
      for (const client of clients.values()) client.close();
    },
  };
}
