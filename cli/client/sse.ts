/**
 * Reads a text/event-stream body into events with eventsource-parser (the parser the MCP SDK uses too):
 * `: comments` (keep-alives) are skipped, and an event with no data is not dispatched, as the spec says.
 */
import { EventSourceParserStream } from 'eventsource-parser/stream';

export interface SseEvent {
  event: string;
  id?: string;
  data: string;
}

export async function* readSseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const events = body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream());
  const reader = events.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      // A browser's EventSource names an unnamed event `message`; the parser leaves it undefined.
      yield { event: value.event ?? 'message', ...(value.id !== undefined ? { id: value.id } : {}), data: value.data };
    }
  } finally {
    reader.releaseLock();
    await events.cancel().catch(() => {});
  }
}
