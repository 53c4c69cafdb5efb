/**
 * Socket framing between sidecar and runtime: a 4-byte big-endian length, then that many bytes of UTF-8
 * JSON. One frame each way per connection, unless the request's prefix has KEEP_ALIVE_BIT set: then the
 * length is the low 31 bits and the runtime reads the next request on the same connection after answering
 * (docs/runtimes.md, "Keep-alive"). Unlike the original, frames have a ceiling, so a corrupt length prefix
 * cannot make either side allocate 4 GiB.
 */
import type { Socket } from 'node:net';

export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;
const PREFIX_BYTES = 4;
/** Only ever set on requests, and only towards a runtime whose ready file announced `keep-alive`. */
export const KEEP_ALIVE_BIT = 0x80000000;
/** The largest body a keep-alive request can carry: the length has 31 bits left. */
export const MAX_KEEP_ALIVE_BODY_BYTES = 0x7fffffff;
/** The ready file's content when the runtime understands KEEP_ALIVE_BIT; the original writes only `ready`. */
export const READY_KEEP_ALIVE = 'ready keep-alive';

/** True when a ready file's content announces keep-alive (any word after the leading `ready`). */
export function announcesKeepAlive(readyFileContent: string): boolean {
  const [first, ...rest] = readyFileContent.trim().split(/\s+/);
  return first === 'ready' && rest.includes('keep-alive');
}

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
export function framePrefix(bodyBytes: number, keepAlive = false): Buffer {
  if (keepAlive && bodyBytes > MAX_KEEP_ALIVE_BODY_BYTES) throw new RangeError(`a keep-alive request carries at most ${MAX_KEEP_ALIVE_BODY_BYTES} bytes`);
  const prefix = Buffer.allocUnsafe(PREFIX_BYTES);
  prefix.writeUInt32BE(keepAlive ? (KEEP_ALIVE_BIT | bodyBytes) >>> 0 : bodyBytes, 0);
  return prefix;
}

/** Reads exactly one frame from a socket; rejects with FrameError on oversize or early close. */
export async function readFrame(socket: Socket, maxBytes = DEFAULT_MAX_FRAME_BYTES): Promise<Buffer> {
  return (await readFrameWith(socket, maxBytes, false)).body;
}

export interface Request {
  body: Buffer;
  /** The client asked for the connection to stay open for its next request (KEEP_ALIVE_BIT). */
  keepAlive: boolean;
}

/**
 * Reads one request, the runtime's side: KEEP_ALIVE_BIT is taken off before the length is checked, so a
 * keep-alive request is measured by its real length. Responses are read with readFrame, where all 32
 * bits are the length: a runtime never sets the bit, and a 3 GiB answer must still be refused as too large.
 */
export function readRequest(socket: Socket, maxBytes = DEFAULT_MAX_FRAME_BYTES): Promise<Request> {
  return readFrameWith(socket, maxBytes, true);
}

function readFrameWith(socket: Socket, maxBytes: number, request: boolean): Promise<Request> {
  return new Promise((resolve, reject) => {
    // Until the prefix is complete, chunks are kept; then the body goes straight into one buffer of its
    // size, so a 50 MB frame is held once (a chunk list and its concatenation would hold it twice).
    let head: Buffer[] = [];
    let headBytes = 0;
    let frame: Buffer | undefined;
    let filled = 0;
    let received = 0;
    let expected = -1;
    let keepAlive = false;
    const finish = (err: Error | null, result?: Buffer) => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
      if (err) reject(err);
      else resolve({ body: result!, keepAlive });
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
        if (request && expected >= KEEP_ALIVE_BIT) {
          keepAlive = true;
          expected -= KEEP_ALIVE_BIT;
        }
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
