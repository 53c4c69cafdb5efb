/**
 * The body of a server-sent event stream, as the envelope stream and the console's feed both send it:
 * frames go straight into the response as they come; a client that stops reading is cut off once too
 * much is queued for it (it resumes with Last-Event-ID); `: keepalive` comments keep proxies from timing
 * out; shutdown, the client leaving and the route itself all end it through one close().
 */
import type { Context } from 'hono';
import type { GatewayDeps } from '../deps.ts';

const MAX_QUEUED_BYTES = 8 * 1024 * 1024;
export const KEEPALIVE = new TextEncoder().encode(': keepalive\n\n');

export class SseBody {
  readonly stream: ReadableStream<Uint8Array>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private timer: NodeJS.Timeout | undefined;
  private readonly closed: Array<() => void> = [];
  private isOpen = true;

  /** `slowClient` says, for the log, what is cut off when a client stops reading. */
  constructor(
    c: Context,
    private readonly deps: GatewayDeps,
    private readonly slowClient: () => string,
  ) {
    this.stream = new ReadableStream<Uint8Array>(
      { start: (ctl) => void (this.controller = ctl), cancel: this.close },
      new ByteLengthQueuingStrategy({ highWaterMark: 64 * 1024 }),
    );
    deps.metrics.sseStreams.inc();
    deps.closers.add(this.close);
    c.req.raw.signal.addEventListener('abort', this.close, { once: true });
  }

  get open(): boolean {
    return this.isOpen;
  }

  whenClosed(action: () => void): void {
    this.closed.push(action);
  }

  /** False when the stream is closed, or was closed now because its client stopped reading. */
  send(frame: Uint8Array): boolean {
    if (!this.isOpen) return false;
    if ((this.controller.desiredSize ?? 0) < -MAX_QUEUED_BYTES) {
      this.deps.log.warn(this.slowClient());
      this.close();
      return false;
    }
    this.controller.enqueue(frame);
    return true;
  }

  keepAlive(intervalMs: number): void {
    if (!this.isOpen) return;
    this.timer = setInterval(() => this.isOpen && this.controller.enqueue(KEEPALIVE), intervalMs);
    this.timer.unref();
  }

  readonly close = (): void => {
    if (!this.isOpen) return;
    this.isOpen = false;
    clearInterval(this.timer);
    this.deps.closers.delete(this.close);
    this.deps.metrics.sseStreams.dec();
    for (const action of this.closed) action();
    try {
      this.controller.close();
    } catch {
      // Already closed or cancelled by the client.
    }
  };

  response(): Response {
    return new Response(this.stream, {
      headers: { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' },
    });
  }
}
