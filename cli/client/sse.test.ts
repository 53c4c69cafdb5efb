/** The CLI's SSE reader (eventsource-parser underneath) on the framings a server or a proxy may produce. */
import { describe, expect, it } from 'vitest';
import { readSseEvents, type SseEvent } from './sse.ts';

/**
 * A body delivered in the given pieces, then ended, or kept open as a live stream is; `cancelled` tells
 * whether the reader let go of it.
 */
function body(pieces: Array<string | Uint8Array>, { open = false } = {}) {
  const state = { cancelled: false };
  const encoder = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const piece of pieces) controller.enqueue(typeof piece === 'string' ? encoder.encode(piece) : piece);
      if (!open) controller.close();
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { stream, state };
}

async function all(pieces: Array<string | Uint8Array>): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  for await (const event of readSseEvents(body(pieces).stream)) events.push(event);
  return events;
}

describe('readSseEvents', () => {
  it('reads named events with ids, skips keep-alive comments, and names unnamed events "message"', async () => {
    expect(await all([': keepalive\n\n', 'event: update\nid: 7\ndata: {"a":1}\n\n', 'data: plain\n\n'])).toEqual([
      { event: 'update', id: '7', data: '{"a":1}' },
      { event: 'message', data: 'plain' },
    ]);
  });

  it('joins data lines, reads CRLF framing, and dispatches nothing for an event without data', async () => {
    expect(await all(['event: update\r\ndata: one\r\ndata: two\r\n\r\n', 'event: empty\n\n'])).toEqual([{ event: 'update', data: 'one\ntwo' }]);
  });

  it('reassembles events cut anywhere, a multi-byte character included', async () => {
    const frame = new TextEncoder().encode('event: update\nid: 1\ndata: {"message":"café ✓"}\n\n');
    const cuts = [3, 9, 20, 35, frame.length - 4, frame.length - 1];
    const pieces = [0, ...cuts].map((start, i) => frame.slice(start, [...cuts, frame.length][i]));
    expect(await all(pieces)).toEqual([{ event: 'update', id: '1', data: '{"message":"café ✓"}' }]);
  });

  it('drops an event the stream ended before completing, and lets go of the body when the caller stops early', async () => {
    expect(await all(['data: complete\n\n', 'data: cut sh'])).toEqual([{ event: 'message', data: 'complete' }]);
    const { stream, state } = body(['data: first\n\n', 'data: second\n\n'], { open: true });
    for await (const event of readSseEvents(stream)) {
      expect(event.data).toBe('first');
      break;
    }
    expect(state.cancelled).toBe(true);
  });
});
