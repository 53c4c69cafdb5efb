/**
 * chunk (TypeScript, payload mode): splits a document into chunks of whole sentences. Returning an array is
 * a fan-out: the sidecar sends one envelope per chunk (ids `<id>-0`, `<id>-1`, …) and the gateway finishes
 * the call only when every chunk has, with their results in chunk order.
 */

export interface Document {
  title: string;
  text: string;
  chunk_sentences?: number;
  min_score?: number;
  max_rounds?: number;
}

export interface Chunk {
  title: string;
  index: number;
  of: number;
  text: string;
  min_score?: number;
  max_rounds?: number;
}

/** A document this long is probably a mistake; a fan-out this wide would flood the next queues. */
export const MAX_CHUNKS = 100;

class ChunkingError extends Error {
  override readonly name = 'ChunkingError';
}

export function splitSentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+|\n+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export function process(doc: Document): Chunk[] {
  const perChunk = Math.min(Math.max(Math.trunc(doc.chunk_sentences ?? 2), 1), 20);
  const sentences = splitSentences(doc.text);
  const count = Math.ceil(sentences.length / perChunk);
  if (count > MAX_CHUNKS) {
    throw new ChunkingError(`document ${JSON.stringify(doc.title)} splits into ${count} chunks; the limit is ${MAX_CHUNKS} (raise chunk_sentences)`);
  }
  const chunks: Chunk[] = [];
  for (let index = 0; index < count; index++) {
    const chunk: Chunk = { title: doc.title, index, of: count, text: sentences.slice(index * perChunk, (index + 1) * perChunk).join(' ') };
    // Only the judge's settings travel on; the cleaned document's statistics stay behind.
    if (doc.min_score !== undefined) chunk.min_score = doc.min_score;
    if (doc.max_rounds !== undefined) chunk.max_rounds = doc.max_rounds;
    chunks.push(chunk);
  }
  return chunks;
}
