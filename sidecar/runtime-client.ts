/**
 * Calls the runtime: one connection per request, as the original protocol requires, so it works in front of
 * either of our runtimes and the original Python one.
 */
import { connect } from 'node:net';
import { FrameError, framePrefix, jsonTextNestsDeeper, MAX_JSON_DEPTH, readFrame, type RuntimeResult } from '../protocol/index.ts';
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

/** `body` may come in parts (an envelope around a resolved payload): they are written in turn, never joined. */
export function callRuntime(socketPath: string, body: Buffer | readonly Buffer[], options: CallOptions): Promise<RuntimeResult[]> {
  const parts = Buffer.isBuffer(body) ? [body] : body;
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let connected = false;
    let settled = false;
    const settle = (err: RuntimeCallError | null, value?: RuntimeResult[]) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(value!);
    };
    const timer = setTimeout(
      () => settle(new RuntimeCallError('timeout', `Runtime timeout exceeded after ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (!connected || err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
        settle(new RuntimeCallError('unavailable', `failed to connect to runtime socket ${socketPath}: ${err.code ?? err.message}`));
      } else {
        settle(new RuntimeCallError('connection_lost', `runtime connection failed: ${err.message}`));
      }
    });
    socket.once('connect', () => {
      connected = true;
      readFrame(socket, options.maxFrameBytes)
        .then(async (frame) => settle(null, options.readResponse ? await options.readResponse(frame) : parseResponse(frame)))
        .catch((err: unknown) => {
          if (err instanceof RuntimeCallError) settle(err);
          else if (err instanceof FrameError && err.kind === 'too_large') settle(new RuntimeCallError('invalid_response', err.message));
          else settle(new RuntimeCallError('connection_lost', `failed to read response from runtime: ${errorText(err)}`));
        });
      socket.cork();
      socket.write(framePrefix(parts.reduce((n, part) => n + part.length, 0)));
      for (const part of parts) socket.write(part);
      socket.uncork();
    });
  });
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
