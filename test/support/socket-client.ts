/** Raw socket calls to a runtime, including deliberately broken frames. */
import { connect } from 'node:net';
import { encodeFrame, readFrame } from '../../protocol/index.ts';

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
