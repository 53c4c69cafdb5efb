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

/** The frame's length prefix for a body written in parts (the sidecar writes a resolved payload without joining it). */
export function framePrefix(bodyBytes: number): Buffer {
  const prefix = Buffer.allocUnsafe(PREFIX_BYTES);
  prefix.writeUInt32BE(bodyBytes, 0);
  return prefix;
}

/** Reads exactly one frame from a socket; rejects with FrameError on oversize or early close. */
export function readFrame(socket: Socket, maxBytes = DEFAULT_MAX_FRAME_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // Until the prefix is complete, chunks are kept; then the body goes straight into one buffer of its
    // size, so a 50 MB frame is held once (a chunk list and its concatenation would hold it twice).
    let head: Buffer[] = [];
    let headBytes = 0;
    let frame: Buffer | undefined;
    let filled = 0;
    let received = 0;
    let expected = -1;
    const finish = (err: Error | null, result?: Buffer) => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
      if (err) reject(err);
      else resolve(result!);
    };
    const take = (chunk: Buffer) => {
      const room = expected - filled;
      const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
      part.copy(frame!, filled);
      filled += part.length;
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (expected < 0) {
        head.push(chunk);
        headBytes += chunk.length;
        if (headBytes < PREFIX_BYTES) return;
        const all = head.length === 1 ? head[0]! : Buffer.concat(head);
        head = [];
        expected = all.readUInt32BE(0);
        if (expected > maxBytes) {
          finish(new FrameError('too_large', `Frame of ${expected} bytes exceeds the maximum of ${maxBytes} bytes`));
          return;
        }
        frame = Buffer.allocUnsafe(expected);
        take(all.subarray(PREFIX_BYTES));
      } else {
        take(chunk);
      }
      if (filled >= expected) finish(null, frame!);
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
