/**
 * GET /envelopes/{id}/stream: history first, then live updates, as `event: update` with the event's
 * sequence number as its SSE id. A client that reconnects with Last-Event-ID gets only what it missed.
 * The stream closes after the final update, including when the envelope was final before the client came
 * (the original kept such a stream open forever). A final update in the history that an operator's replay
 * reopened (`envelope_state: replayed` follows it) is sent but does not close the stream. `: keepalive`
 * comments keep proxies from timing out.
 *
 * Frames go straight into the response stream (sse-body.ts) as the store delivers them, each event encoded
 * once for all of its subscribers: with a thousand clients on one envelope the per-client cost is one
 * enqueue. A client that stops reading is cut off once too much is queued for it; it resumes with Last-Event-ID.
 */
import { UPDATE_EVENT } from '../../protocol/gateway-contract.ts';
import type { GatewayDeps } from '../deps.ts';
import { canSee } from '../core/caller.ts';
import type { EnvelopeEvent, EnvelopeStatus, Subscription } from '../store/index.ts';
import { isFinal } from '../store/state-machine.ts';
import { updateJson } from '../core/envelope-json.ts';
import { HttpError, notFound } from './errors.ts';
import { checkPathId } from './ids.ts';
import { SseBody } from './sse-body.ts';
import type { Routes } from './routes.ts';

const encoder = new TextEncoder();
const frames = new WeakMap<EnvelopeEvent, Uint8Array>();

export function frameFor(event: EnvelopeEvent): Uint8Array {
  let frame = frames.get(event);
  if (!frame) {
    frame = encoder.encode(`event: ${UPDATE_EVENT}\nid: ${event.seq}\ndata: ${JSON.stringify(updateJson(event))}\n\n`);
    frames.set(event, frame);
  }
  return frame;
}

export function lastEventId(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return 0;
  if (!/^\d{1,15}$/.test(raw.trim())) throw new HttpError(400, 'Invalid Last-Event-ID: expected the id of a previous event');
  return Number(raw.trim());
}

export function streamRoute(routes: Routes, deps: GatewayDeps): void {
  const { store } = deps;
  const keepAliveMs = deps.options.sseKeepAliveMs ?? 15_000;

  routes.get('/envelopes/:id/stream', 'client', async (c) => {
    const id = checkPathId(c.req.param('id'));
    const after = lastEventId(c.req.header('last-event-id') ?? c.req.query('last_event_id'));

    let lastSent = after;
    // The envelope's state as of the newest event this stream has seen (per envelope, seq order is commit
    // order), or as read with it: whether it is final once the replay is done needs no second read.
    let latest: EnvelopeStatus | undefined;
    let subscription: Subscription | undefined;
    const body = new SseBody(c, deps, () => `SSE client for ${id} is not reading; closing its stream (it can resume from event ${lastSent})`);
    body.whenClosed(() => void subscription?.close());
    // History may hold a final event that an operator's replay reopened afterwards: while the stored events
    // (and live ones that arrived meanwhile) are replayed, a final one does not end the stream; the state
    // they leave does.
    let replaying = true;
    const send = (event: EnvelopeEvent) => {
      if (event.seq <= lastSent || !body.send(frameFor(event))) return;
      lastSent = event.seq;
      latest = event.status;
      if (!replaying && isFinal(event.status)) body.close();
    };
    try {
      // The envelope is looked up with the first replayed events, in one statement, and subscribed before
      // the response starts, so a database outage is still a clean 503. What was replayed waits in the body
      // until the caller is known to see the envelope: for anyone else the body is dropped unsent.
      const followed = await store.follow(id, send, { afterSeq: after });
      subscription = followed.subscription;
      if (!followed.head || !canSee(c.get('caller'), followed.head)) throw notFound();
      latest ??= followed.head.status;
      // The client may have left while the subscription was being made.
      if (!body.open) void subscription?.close();
      replaying = false;
      // Final before the client came back with a Last-Event-ID past the final event, or final in what was
      // replayed: send what is left from the table, and stop.
      if (isFinal(latest)) {
        for (const event of await store.eventsSince(id, lastSent)) send(event);
        body.close();
      }
    } catch (err) {
      body.close();
      throw err;
    }
    body.keepAlive(keepAliveMs);
    return body.response();
  });
}
