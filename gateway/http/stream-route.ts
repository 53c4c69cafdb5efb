/**
 * GET /envelopes/{id}/stream: history first, then live updates, as `event: update` with the event's
 * sequence number as its SSE id. A client that reconnects with Last-Event-ID gets only what it missed.
 * The stream closes after the final update, including when the envelope was final before the client came
 * (the original kept such a stream open forever). `: keepalive` comments keep proxies from timing out.
 */
import type { Hono, MiddlewareHandler } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { GatewayDeps } from '../deps.ts';
import type { EnvelopeEvent } from '../store/index.ts';
import { isFinal } from '../store/state-machine.ts';
import { updateJson } from './envelope-json.ts';
import { HttpError, notFound } from './errors.ts';
import { checkPathId } from './ids.ts';

function lastEventId(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return 0;
  if (!/^\d{1,15}$/.test(raw.trim())) throw new HttpError(400, 'Invalid Last-Event-ID: expected the id of a previous event');
  return Number(raw.trim());
}

export function streamRoute(app: Hono, deps: GatewayDeps, client: MiddlewareHandler): void {
  const { store, metrics } = deps;
  const keepAliveMs = deps.options.sseKeepAliveMs ?? 15_000;

  app.get('/envelopes/:id/stream', client, async (c) => {
    const id = checkPathId(c.req.param('id'));
    const after = lastEventId(c.req.header('last-event-id') ?? c.req.query('last_event_id'));
    if (!(await store.get(id))) throw notFound();
    const pending: EnvelopeEvent[] = [];
    let wake: (() => void) | undefined;
    const poke = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    // Subscribed before the response starts, so a database outage is still a clean 503.
    const subscription = await store.subscribe(id, (e) => {
      pending.push(e);
      poke();
    }, { afterSeq: after });
    c.header('X-Accel-Buffering', 'no');
    return streamSSE(c, async (stream) => {
      let open = true;
      let keepAliveDue = false;
      const close = () => {
        open = false;
        poke();
      };
      deps.closers.add(close);
      stream.onAbort(close);
      metrics.sseStreams.inc();
      const timer = setInterval(() => {
        keepAliveDue = true;
        poke();
      }, keepAliveMs);
      let lastSent = after;
      const send = async (event: EnvelopeEvent) => {
        if (event.seq <= lastSent) return;
        await stream.writeSSE({ event: 'update', id: String(event.seq), data: JSON.stringify(updateJson(event)) });
        lastSent = event.seq;
        if (isFinal(event.status)) open = false;
      };
      try {
        // The final event may be older than Last-Event-ID, or land between the replay and this check:
        // read what is left from the table, and stop once the envelope is final.
        const now = await store.get(id);
        if (!now || isFinal(now.status)) {
          for (const e of await store.eventsSince(id, lastSent)) pending.push(e);
          open = false;
          while (pending.length > 0) await send(pending.shift() as EnvelopeEvent);
          return;
        }
        while (open) {
          while (open && pending.length > 0) await send(pending.shift() as EnvelopeEvent);
          if (!open) break;
          if (keepAliveDue) {
            keepAliveDue = false;
            await stream.write(': keepalive\n\n');
          }
          if (pending.length === 0 && !keepAliveDue) await new Promise<void>((resolve) => (wake = resolve));
        }
      } finally {
        clearInterval(timer);
        deps.closers.delete(close);
        metrics.sseStreams.dec();
        await subscription.close();
      }
    }, async (err, stream) => {
      deps.log.warn(`SSE stream for ${id} ended: ${err.message}`);
      await stream.close();
    });
  });
}
