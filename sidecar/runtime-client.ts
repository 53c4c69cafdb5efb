/**
 * Calls the runtime. By default one connection per request, as the original protocol requires, so it works
 * in front of either of our runtimes and the original Python one. When the runtime's ready file announces
 * `keep-alive` (ours do) and ASYA_RUNTIME_KEEP_ALIVE is on, answered connections are kept in a small pool
 * and reused: connecting and closing per message cost both sides a large share of their CPU.
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import {
  announcesKeepAlive,
  FrameError,
  framePrefix,
  jsonTextNestsDeeper,
  MAX_JSON_DEPTH,
  MAX_KEEP_ALIVE_BODY_BYTES,
  readFrame,
  type RuntimeResult,
} from '../protocol/index.ts';
import { errorText } from '../protocol/errors.ts';

/** A response wraps each result's payload one level deeper than the envelope that carries it on. */
const MAX_RESPONSE_DEPTH = MAX_JSON_DEPTH + 1;

export type RuntimeCallFailure =
  /** No socket or nothing listening: the runtime is down or restarting. Safe to retry later. */
  | 'unavailable'
  /** The runtime did not answer in time; the handler may still be running. */
  | 'timeout'
  /** The connection broke after the request was sent (runtime crashed mid-request). */
  | 'connection_lost'
  /** The runtime answered something that is not a JSON array of results. */
  | 'invalid_response'
  /** A result over the offload threshold could not be written to the payload store (it may be back soon). */
  | 'result_not_stored';

export class RuntimeCallError extends Error {
  override readonly name = 'RuntimeCallError';
  constructor(
    readonly failure: RuntimeCallFailure,
    message: string,
  ) {
    super(message);
  }
}

export interface CallOptions {
  timeoutMs: number;
  maxFrameBytes: number;
  /** Reads a response frame instead of parsing it whole (the claim check offloads large results from it). */
  readResponse?: (frame: Buffer) => Promise<RuntimeResult[]>;
}

export interface RuntimeClientOptions {
  socketPath: string;
  /** Read for the runtime's announcement: only a runtime that wrote `ready keep-alive` is sent KEEP_ALIVE_BIT. */
  readyFile: string;
  /** ASYA_RUNTIME_KEEP_ALIVE: off, every request has a connection of its own even with our runtimes. */
  keepAlive: boolean;
  /** Idle connections kept at most: the sidecar's concurrency, since no more are ever busy at once. */
  maxIdle: number;
}

/** Raised inside the client only: the request went out on a reused connection the runtime never read from. */
class NeverRead extends Error {}

export class RuntimeClient {
  private readonly idle: Socket[] = [];
  private readonly leaveIdle = new Map<Socket, () => void>();
  /** What the ready file said; undefined until read, and again after anything suggests a restart. */
  private announced: boolean | undefined;
  private resentCount = 0;

  constructor(private readonly options: RuntimeClientOptions) {}

  /** `body` may come in parts (an envelope around a resolved payload): they are written in turn, never joined. */
  async call(body: Buffer | readonly Buffer[], options: CallOptions): Promise<RuntimeResult[]> {
    const parts = Buffer.isBuffer(body) ? [body] : body;
    const bytes = parts.reduce((n, part) => n + part.length, 0);
    const announced = this.runtimeAnnouncesKeepAlive();
    if (announced && bytes > MAX_KEEP_ALIVE_BODY_BYTES) {
      // Our runtimes read a prefix with the top bit set as keep-alive, so this length cannot be sent to them
      // at all; every one of them would refuse it as over its limit, and this is that answer.
      return [{ error: 'msg_parsing_error', details: { message: `Frame of ${bytes} bytes exceeds the maximum of ${MAX_KEEP_ALIVE_BODY_BYTES} bytes`, type: 'FrameTooLarge', traceback: '' } }];
    }
    const keepAlive = announced && this.options.keepAlive;
    const deadline = Date.now() + options.timeoutMs;
    const pooled = keepAlive ? this.take() : undefined;
    try {
      return await this.exchange(pooled ?? connect(this.options.socketPath), pooled !== undefined, parts, bytes, keepAlive, options.timeoutMs, options);
    } catch (err) {
      if (!(err instanceof NeverRead)) {
        this.announced = undefined;
        throw err;
      }
      // Once only, and on a connection of its own: it cannot have been closed while idle.
      this.resentCount++;
      return this.exchange(connect(this.options.socketPath), false, parts, bytes, keepAlive, Math.max(1, deadline - Date.now()), options).catch((again: unknown) => {
        this.announced = undefined;
        throw again;
      });
    }
  }

  /** Closes the idle connections (the sidecar is stopping). */
  close(): void {
    for (const socket of [...this.idle]) socket.destroy();
  }

  /** Requests sent again because a reused connection had been closed under them (tests look). */
  get resent(): number {
    return this.resentCount;
  }

  /** How many answered connections wait for a request (tests look). */
  get idleConnections(): number {
    return this.idle.length;
  }

  private runtimeAnnouncesKeepAlive(): boolean {
    if (this.announced !== undefined) return this.announced;
    let content: string;
    try {
      content = readFileSync(this.options.readyFile, 'utf8');
    } catch {
      // No ready file: the runtime is restarting. One connection per request is safe with any runtime.
      return false;
    }
    // An empty file may be one a runtime is still writing: decide again on the next call.
    const announced = announcesKeepAlive(content);
    if (content.trim() !== '') this.announced = announced;
    return announced;
  }

  private take(): Socket | undefined {
    const socket = this.idle.pop();
    if (!socket) return undefined;
    this.leaveIdle.get(socket)!();
    socket.ref();
    return socket;
  }

  /** Only a connection whose last response was read whole comes back; it leaves as soon as the runtime closes it. */
  private release(socket: Socket): void {
    if (this.idle.length >= this.options.maxIdle || socket.destroyed) {
      socket.destroy();
      return;
    }
    const gone = () => {
      leave();
      socket.destroy();
      // The runtime closes idle connections when it stops: the one that comes next may be another runtime.
      this.announced = undefined;
    };
    const leave = () => {
      socket.off('data', gone);
      socket.off('end', gone);
      socket.off('close', gone);
      socket.off('error', gone);
      this.leaveIdle.delete(socket);
      const at = this.idle.indexOf(socket);
      if (at >= 0) this.idle.splice(at, 1);
    };
    // Bytes nobody asked for mean the connection is in an unknown state.
    socket.on('data', gone);
    socket.on('end', gone);
    socket.on('close', gone);
    socket.on('error', gone);
    this.leaveIdle.set(socket, leave);
    // An idle connection must not keep a stopping process alive.
    socket.unref();
    this.idle.push(socket);
  }

  private exchange(
    socket: Socket,
    reused: boolean,
    parts: readonly Buffer[],
    bytes: number,
    keepAlive: boolean,
    timeoutMs: number,
    options: CallOptions,
  ): Promise<RuntimeResult[]> {
    const { socketPath } = this.options;
    return new Promise((resolve, reject) => {
      let connected = reused;
      let answered = false;
      let settled = false;
      const settle = (err: Error | null, value?: RuntimeResult[], reusable = false) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.off('error', onError);
        socket.off('data', onFirstByte);
        if (reusable) this.release(socket);
        else socket.destroy();
        if (err) reject(err);
        else resolve(value!);
      };
      const timer = setTimeout(() => settle(new RuntimeCallError('timeout', `Runtime timeout exceeded after ${options.timeoutMs} ms`)), timeoutMs);
      const onFirstByte = () => (answered = true);
      const onError = (err: NodeJS.ErrnoException) => {
        if (neverRead(reused, answered, err)) settle(new NeverRead(err.message));
        else if (!connected || err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
          settle(new RuntimeCallError('unavailable', `failed to connect to runtime socket ${socketPath}: ${err.code ?? err.message}`));
        } else {
          settle(new RuntimeCallError('connection_lost', `runtime connection failed: ${err.message}`));
        }
      };
      const send = () => {
        connected = true;
        socket.once('data', onFirstByte);
        readFrame(socket, options.maxFrameBytes)
          .then(async (frame) => settle(null, options.readResponse ? await options.readResponse(frame) : parseResponse(frame), keepAlive))
          .catch((err: unknown) => {
            if (err instanceof RuntimeCallError) settle(err);
            else if (err instanceof FrameError && err.kind === 'too_large') settle(new RuntimeCallError('invalid_response', err.message));
            else if (neverRead(reused, answered, err)) settle(new NeverRead(errorText(err)));
            else settle(new RuntimeCallError('connection_lost', `failed to read response from runtime: ${errorText(err)}`));
          });
        socket.cork();
        socket.write(framePrefix(bytes, keepAlive));
        for (const part of parts) socket.write(part);
        socket.uncork();
      };
      socket.on('error', onError);
      if (reused) send();
      else socket.once('connect', send);
    });
  }
}

/**
 * Whether a request that failed may be sent again, on a fresh connection. Only on a reused connection and
 * only before any byte of the answer, and only for EPIPE and ECONNRESET: on a Unix socket the kernel gives
 * EPIPE when the runtime had closed the connection before our request arrived, and ECONNRESET when it
 * closed it with our request still unread in its queue. Either way no handler saw the request. A plain end
 * of stream is NOT retried: it means the runtime had read everything sent to it (a crash while the handler
 * ran), which must stay `connection_lost`, since the handler may have done its work.
 */
function neverRead(reused: boolean, answered: boolean, err: unknown): boolean {
  if (!reused || answered) return false;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EPIPE' || code === 'ECONNRESET';
}

export function parseResponse(frame: Buffer): RuntimeResult[] {
  let parsed: unknown;
  try {
    // The original runtime may emit NaN/Infinity (Python's allow_nan); they are not JSON.
    parsed = JSON.parse(frame.toString('utf8'));
  } catch (err) {
    throw new RuntimeCallError('invalid_response', `failed to parse runtime response: ${errorText(err)}`);
  }
  // Parsing any depth is safe; serialising the result again for the next actor is not.
  if (jsonTextNestsDeeper(frame, MAX_RESPONSE_DEPTH)) {
    throw new RuntimeCallError('invalid_response', `runtime response nests deeper than ${MAX_RESPONSE_DEPTH} levels`);
  }
  if (!Array.isArray(parsed)) throw new RuntimeCallError('invalid_response', 'failed to parse runtime response: expected a JSON array');
  for (const [i, item] of parsed.entries()) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new RuntimeCallError('invalid_response', `failed to parse runtime response: element ${i} is not an object`);
    }
  }
  return parsed as RuntimeResult[];
}
