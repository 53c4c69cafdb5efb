/**
 * Reads a text/event-stream body into events with eventsource-parser (the parser the MCP SDK uses too):
 * `: comments` (keep-alives) are skipped, and an event with no data is not dispatched, as the spec says.
 * The body is read here, not piped, so a caller that stops early cancels it (and its connection) at once.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';

export interface SseEvent {
  event: string;
  id?: string;
  data: string;
}

export async function* readSseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const parsed: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (message) => parsed.push(message) });
  const decoder = new TextDecoder();
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      parser.feed(decoder.decode(value, { stream: true }));
      for (let message = parsed.shift(); message; message = parsed.shift()) {
        // A browser's EventSource names an unnamed event `message`; the parser leaves it undefined.
        yield { event: message.event ?? 'message', ...(message.id !== undefined ? { id: message.id } : {}), data: message.data };
      }
    }
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => {});
  }
}
