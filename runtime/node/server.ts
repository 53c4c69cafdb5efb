/**
 * The Unix-socket server: one request per connection, as the original protocol requires, or several in
 * turn when the client asks for keep-alive (protocol/framing.ts); connections are served concurrently so
 * async handlers overlap.
 */
import { chmodSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { encodeFrame, FrameError, READY_KEEP_ALIVE, readRequest } from '../../protocol/framing.ts';
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
  const connections: Connections = { closing: false, waiting: new Set() };
  // Half-open: a client that ends its side early (truncated frame) still gets its error response.
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    const work = serveConnection(socket, config, handler, log, connections).finally(() => inFlight.delete(work));
    inFlight.add(work);
  });
  await listen(server, config.socketPath);
  if (config.socketMode !== undefined) chmodSync(config.socketPath, config.socketMode);
  try {
    // Written whole and renamed into place: a sidecar reading a half-written (empty) file would take this
    // runtime for one without keep-alive.
    const temporary = `${config.readyFile}.${process.pid}.tmp`;
    writeFileSync(temporary, READY_KEEP_ALIVE);
    renameSync(temporary, config.readyFile);
  } catch (err) {
    log.error(`Could not write ready file ${config.readyFile}: ${errorText(err)}`);
  }
  log.info(`Runtime ready on ${config.socketPath} (mode=${config.mode}, validation=${config.validate})`);
  let closing: Promise<void> | undefined;
  return {
    socketPath: config.socketPath,
    close() {
      closing ??= (async () => {
        connections.closing = true;
        // server.close() waits for every connection, and a kept-alive one waiting for its next request
        // would never end by itself. Nothing of it has been read, so the client may safely send it again.
        for (const socket of connections.waiting) socket.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await Promise.allSettled([...inFlight]);
        rmSync(config.socketPath, { force: true });
        rmSync(config.readyFile, { force: true });
      })();
      return closing;
    },
  };
}

interface Connections {
  closing: boolean;
  /** Kept-alive connections between requests: nothing of their next request has arrived yet. */
  waiting: Set<Socket>;
}

async function serveConnection(socket: Socket, config: RuntimeConfig, handler: Handler, log: Logger, connections: Connections): Promise<void> {
  socket.on('error', () => {});
  for (let served = 0; ; served++) {
    // The first request of a connection is always served, as before keep-alive; only a connection that
    // has already been answered may be dropped while it waits, so a shutdown never stalls on it.
    if (served > 0) {
      if (connections.closing) break;
      connections.waiting.add(socket);
      socket.once('data', () => connections.waiting.delete(socket));
    }
    const keepAlive = await serveRequest(socket, config, handler, log, served > 0);
    connections.waiting.delete(socket);
    if (!keepAlive) return;
  }
  socket.end();
}

/** Answers one request; true when the connection stays open for the next one. */
async function serveRequest(socket: Socket, config: RuntimeConfig, handler: Handler, log: Logger, reused: boolean): Promise<boolean> {
  let responses: RuntimeResult[];
  let about: LogFields = {};
  let keepAlive = false;
  try {
    const request = await readRequest(socket, config.maxFrameBytes);
    const body = request.body;
    keepAlive = request.keepAlive;
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
    // A kept-alive connection that the client closes between requests is done, not failed.
    if (reused && err instanceof FrameError && err.kind === 'closed_before_frame') {
      socket.destroy();
      return false;
    }
    responses = err instanceof FrameError && err.kind === 'too_large'
      ? [{ error: 'msg_parsing_error', details: { message: err.message, type: 'FrameTooLarge', traceback: '' } }]
      : errorResponse('connection_error', err);
    // A connection closed before its first byte is a readiness probe, not a failed request.
    if (err instanceof FrameError && err.kind === 'closed_before_frame') log.debug('Probe connection closed');
    else log.warn(`Request not read: ${errorText(err)}`);
  }
  if (socket.destroyed || !socket.writable) {
    log.warn('Client disconnected before the response was sent', about);
    return false;
  }
  const data = JSON.stringify(responses);
  log.debug(() => `Response: ${data}`, about);
  if (!keepAlive) {
    await new Promise<void>((resolve) => socket.end(encodeFrame(data), () => resolve()));
    return false;
  }
  return new Promise<boolean>((resolve) => socket.write(encodeFrame(data), (err) => resolve(!err)));
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
