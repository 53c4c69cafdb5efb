/**
 * Socket framing between sidecar and runtime: a 4-byte big-endian length, then that many bytes of UTF-8
 * JSON. One frame each way per connection. Unlike the original, frames have a ceiling, so a corrupt
 * length prefix cannot make either side allocate 4 GiB.
 */
import type { Socket } from 'node:net';

export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;
const PREFIX_BYTES = 4;

export type FrameErrorKind = 'too_large' | 'truncated' | 'closed_before_frame';

export class FrameError extends Error {
  override readonly name = 'FrameError';
  constructor(
    readonly kind: FrameErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export function encodeFrame(body: Buffer | string): Buffer {
  const data = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const prefix = Buffer.allocUnsafe(PREFIX_BYTES);
  prefix.writeUInt32BE(data.length, 0);
  return Buffer.concat([prefix, data]);
}

/** Reads exactly one frame from a socket; rejects with FrameError on oversize or early close. */
export function readFrame(socket: Socket, maxBytes = DEFAULT_MAX_FRAME_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let expected = -1;
    const finish = (err: Error | null, frame?: Buffer) => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
      if (err) reject(err);
      else resolve(frame!);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (expected < 0 && received >= PREFIX_BYTES) {
        const head = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        expected = head.readUInt32BE(0);
        if (expected > maxBytes) {
          finish(new FrameError('too_large', `Frame of ${expected} bytes exceeds the maximum of ${maxBytes} bytes`));
          return;
        }
      }
      if (expected >= 0 && received >= PREFIX_BYTES + expected) {
        const all = Buffer.concat(chunks, received);
        finish(null, all.subarray(PREFIX_BYTES, PREFIX_BYTES + expected));
      }
    };
    const onEnd = () => {
      if (received === 0) finish(new FrameError('closed_before_frame', 'Connection closed before any data was sent'));
      else if (expected < 0) finish(new FrameError('truncated', `Connection closed after ${received} of 4 length-prefix bytes`));
      else finish(new FrameError('truncated', `Connection closed while reading: got ${received - PREFIX_BYTES} of ${expected} bytes`));
    };
    const onError = (err: Error) => finish(err);
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('error', onError);
  });
}
