/**
 * The Unix-socket server: one request per connection, as the original protocol requires, but connections
 * are served concurrently so async handlers overlap.
 */
import { chmodSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { encodeFrame, FrameError, readFrame } from '../../protocol/framing.ts';
import { errorResponse, isRuntimeError, type RuntimeResult } from '../../protocol/runtime-response.ts';
import type { RuntimeConfig } from './config.ts';
import { handleRequest } from './handle-request.ts';
import type { Handler } from './load-handler.ts';
import { createLogger, type LogFields, type Logger } from '../../protocol/log.ts';
import { envelopeLogFields } from '../../protocol/trace-context.ts';
import { errorText } from '../../protocol/errors.ts';

export interface RuntimeServer {
  readonly socketPath: string;
  /** Stop accepting, finish requests in flight, remove the socket and ready file. */
  close(): Promise<void>;
}

export async function startRuntimeServer(
  config: RuntimeConfig,
  handler: Handler,
  log: Logger = createLogger(config.logLevel, 'asya.runtime', { format: config.logFormat }),
): Promise<RuntimeServer> {
  mkdirSync(config.socketDir, { recursive: true });
  removeStaleSocket(config.socketPath);
  const inFlight = new Set<Promise<void>>();
  // Half-open: a client that ends its side early (truncated frame) still gets its error response.
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    const work = serveConnection(socket, config, handler, log).finally(() => inFlight.delete(work));
    inFlight.add(work);
  });
  await listen(server, config.socketPath);
  if (config.socketMode !== undefined) chmodSync(config.socketPath, config.socketMode);
  try {
    writeFileSync(config.readyFile, 'ready');
  } catch (err) {
    log.error(`Could not write ready file ${config.readyFile}: ${errorText(err)}`);
  }
  log.info(`Runtime ready on ${config.socketPath} (mode=${config.mode}, validation=${config.validate})`);
  let closing: Promise<void> | undefined;
  return {
    socketPath: config.socketPath,
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await Promise.allSettled([...inFlight]);
        rmSync(config.socketPath, { force: true });
        rmSync(config.readyFile, { force: true });
      })();
      return closing;
    },
  };
}

async function serveConnection(socket: Socket, config: RuntimeConfig, handler: Handler, log: Logger): Promise<void> {
  socket.on('error', () => {});
  let responses: RuntimeResult[];
  let about: LogFields = {};
  try {
    const body = await readFrame(socket, config.maxFrameBytes);
    let seen = false;
    // As the Python runtime: lines about a request name its envelope and the trace its headers carry.
    const onEnvelope = (envelope: Record<string, unknown>) => {
      seen = true;
      about = envelopeLogFields(envelope);
      log.debug(() => `Request ${body.length} bytes: ${body.toString('utf8')}`, about);
    };
    responses = await handleRequest(body, { handler, mode: config.mode, validate: config.validate, seen: onEnvelope });
    if (!seen) log.debug(() => `Request ${body.length} bytes, not an envelope: ${body.toString('utf8')}`);
    logHandlerFailure(responses, log, about);
  } catch (err) {
    responses = err instanceof FrameError && err.kind === 'too_large'
      ? [{ error: 'msg_parsing_error', details: { message: err.message, type: 'FrameTooLarge', traceback: '' } }]
      : errorResponse('connection_error', err);
    // A connection closed before its first byte is a readiness probe, not a failed request.
    if (err instanceof FrameError && err.kind === 'closed_before_frame') log.debug('Probe connection closed');
    else log.warn(`Request not read: ${errorText(err)}`);
  }
  if (socket.destroyed || !socket.writable) {
    log.warn('Client disconnected before the response was sent', about);
    return;
  }
  const data = JSON.stringify(responses);
  log.debug(() => `Response: ${data}`, about);
  await new Promise<void>((resolve) => socket.end(encodeFrame(data), () => resolve()));
}

/** As the Python runtime does: the handler's exception in the runtime's own log, not only in the response. */
function logHandlerFailure(responses: RuntimeResult[], log: Logger, about: LogFields): void {
  const [first] = responses;
  if (responses.length !== 1 || !first || !isRuntimeError(first) || first.error !== 'processing_error') return;
  const details = (first.details ?? {}) as { type?: unknown; message?: unknown };
  log.error(`Handler failed: ${String(details.type ?? 'Error')}: ${String(details.message ?? '')}`, about);
}

function removeStaleSocket(path: string): void {
  try {
    if (statSync(path).isDirectory()) throw new Error(`Socket path ${path} is a directory`);
    rmSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path, backlog: 511 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
