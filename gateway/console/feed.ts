/**
 * GET /console/api/updates: every envelope's updates as they are written, for the console's live list. Each
 * frame (`event: update`, the event's sequence number as SSE id) carries what a list row shows, so the page
 * changes a row without reading the envelope: the update's status, actor, route position and time, and the
 * envelope's tool, parent and creation time. Never its payload, result or error, which can be megabytes.
 * It starts at the present; a client that reconnects with Last-Event-ID gets what it missed. A named
 * client sees only its own envelopes' updates.
 *
 * The fields no update changes (owner, tool, parent, creation time) are read once per envelope for all of
 * the gateway's feed clients, in one query for the envelopes of a burst, and each frame is encoded once.
 */
import type { Context } from 'hono';
import { UPDATE_EVENT } from '../../protocol/gateway-contract.ts';
import { ownerScope } from '../core/caller.ts';
import { rfc3339 } from '../core/envelope-json.ts';
import type { GatewayDeps } from '../deps.ts';
import { KEEPALIVE, SseBody } from '../http/sse-body.ts';
import { lastEventId } from '../http/stream-route.ts';
import type { EnvelopeEvent, EnvelopeStore, EnvelopeSummary, Subscription } from '../store/index.ts';
import { errorText } from '../../protocol/errors.ts';

const SUMMARIES_REMEMBERED = 10_000;

/** One frame's data: a list row's fields. */
export interface RowUpdate {
  id: string;
  status: string;
  tool_name?: string;
  parent_id?: string;
  /** The actor the envelope is at (the update's). */
  current_actor?: string;
  actors?: string[];
  current_actor_idx?: number;
  progress_percent?: number;
  envelope_state?: string;
  created_at?: string;
  /** The update's time: the envelope's last change. */
  updated_at: string;
}

export function rowUpdate(event: EnvelopeEvent, summary: EnvelopeSummary | undefined): RowUpdate {
  return {
    id: event.envelopeId,
    status: event.status,
    ...(summary?.toolName ? { tool_name: summary.toolName } : {}),
    ...(summary?.parentId ? { parent_id: summary.parentId } : {}),
    ...(event.actor ? { current_actor: event.actor } : {}),
    ...(event.actors ? { actors: event.actors } : {}),
    ...(event.currentActorIdx !== null ? { current_actor_idx: event.currentActorIdx } : {}),
    ...(event.progressPercent !== null ? { progress_percent: event.progressPercent } : {}),
    ...(event.envelopeState ? { envelope_state: event.envelopeState } : {}),
    ...(summary ? { created_at: rfc3339(summary.createdAt) } : {}),
    updated_at: rfc3339(event.timestamp),
  };
}

/**
 * The summaries every feed client of one store shares: a lookup asked for in the same turn as others goes
 * to the store with them. A summary with neither a tool nor a parent is not remembered: that is what a
 * fan-out child's own first progress creates before its registration links it to its parent (and gives it
 * the parent's owner), so its next update reads it again and shows it under its parent, to its owner.
 */
class Summaries {
  private readonly known = new Map<string, Promise<EnvelopeSummary | undefined>>();
  private batch: Map<string, (summary: Promise<EnvelopeSummary | undefined>) => void> | undefined;

  constructor(private readonly store: EnvelopeStore) {}

  of(id: string): Promise<EnvelopeSummary | undefined> {
    const found = this.known.get(id);
    if (found) return found;
    if (this.known.size >= SUMMARIES_REMEMBERED) this.known.clear();
    let batch = this.batch;
    if (!batch) {
      const started = new Map<string, (summary: Promise<EnvelopeSummary | undefined>) => void>();
      this.batch = batch = started;
      queueMicrotask(() => this.flush(started));
    }
    const waiting = batch;
    const summary = new Promise<EnvelopeSummary | undefined>((resolve) => waiting.set(id, (s) => resolve(s)));
    // Each client's chain awaits it in its turn; until then a failed read must not count as unhandled.
    summary.catch(() => {});
    this.known.set(id, summary);
    return summary;
  }

  private flush(batch: Map<string, (summary: Promise<EnvelopeSummary | undefined>) => void>): void {
    this.batch = undefined;
    const ids = [...batch.keys()];
    const read = this.store.summaries(ids).then((found) => new Map(found.map((s) => [s.id, s])));
    for (const [id, resolve] of batch) {
      // A failed read is not remembered: the next update of the envelope asks again.
      resolve(read.then((byId) => {
        const summary = byId.get(id);
        if (!summary || (summary.toolName === null && summary.parentId === null)) this.known.delete(id);
        return summary;
      }, (err: unknown) => {
        this.known.delete(id);
        throw err;
      }));
    }
  }
}

const shared = new WeakMap<EnvelopeStore, Summaries>();
const frames = new WeakMap<EnvelopeEvent, Uint8Array>();
const encoder = new TextEncoder();

function summariesOf(store: EnvelopeStore): Summaries {
  let summaries = shared.get(store);
  if (!summaries) shared.set(store, (summaries = new Summaries(store)));
  return summaries;
}

function rowFrame(event: EnvelopeEvent, summary: EnvelopeSummary | undefined): Uint8Array {
  let frame = frames.get(event);
  if (!frame) {
    frame = encoder.encode(`event: ${UPDATE_EVENT}\nid: ${event.seq}\ndata: ${JSON.stringify(rowUpdate(event, summary))}\n\n`);
    frames.set(event, frame);
  }
  return frame;
}

export async function updatesFeed(c: Context, deps: GatewayDeps): Promise<Response> {
  const { store, log } = deps;
  const raw = c.req.header('last-event-id') ?? c.req.query('last_event_id');
  const after = raw === undefined || raw.trim() === '' ? undefined : lastEventId(raw);
  const scope = ownerScope(c.get('caller'));
  const summaries = summariesOf(store);

  let lastSent = after ?? 0;
  let subscription: Subscription | undefined;
  const body = new SseBody(c, deps, () => `console feed client is not reading; closing its stream (it can resume from event ${lastSent})`);
  body.whenClosed(() => void subscription?.close());
  // Summaries are read asynchronously (and in batches): the frames are chained so they keep the order the
  // store delivered them in.
  let queue: Promise<void> = Promise.resolve();
  const send = (event: EnvelopeEvent) => {
    const summary = summaries.of(event.envelopeId);
    queue = queue
      .then(async () => {
        const found = await summary;
        if (scope !== undefined && (found?.owner ?? null) !== scope) return;
        if (body.send(rowFrame(event, found))) lastSent = event.seq;
      })
      .catch((err: unknown) => {
        log.warn(`console feed: ${errorText(err)}; closing the stream (the client resumes from event ${lastSent})`);
        body.close();
      });
  };
  try {
    subscription = await store.subscribe(undefined, send, after === undefined ? {} : { afterSeq: after });
    if (!body.open) void subscription.close();
  } catch (err) {
    body.close();
    throw err;
  }
  // A first comment, so the client knows the feed is live (its first update may be a while off).
  body.send(KEEPALIVE);
  body.keepAlive(deps.options.sseKeepAliveMs ?? 15_000);
  return body.response();
}
