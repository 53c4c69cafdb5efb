/**
 * Handlers of the fan-in end-to-end suite (test/fan-in.case.ts): `split` fans a document out into numbered
 * chunks, `score` scores one, failing the chunks named in `failing` and holding those named in `dropping`
 * until the file `<gate_dir>/open` exists, so they reach the fan-in only after the test has seen it give up
 * on them (a condition the test sets, not a race against the fan-in's timeout).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

type Doc = { count?: number; failing?: string; dropping?: string; gate_dir?: string };
type Chunk = { index: number; fail: boolean; drop: boolean; count?: number; gate_dir?: string };

class ValueError extends Error {
  override readonly name = 'ValueError';
}

const indices = (list: string | undefined) => new Set((list ?? '').split(',').filter(Boolean).map(Number));

export function split(doc: Doc): Chunk[] {
  const failing = indices(doc.failing);
  const dropping = indices(doc.dropping);
  // Each chunk can be split again (nested fan-out) into as many pieces.
  return Array.from({ length: doc.count ?? 10 }, (_, index) => ({
    index, fail: failing.has(index), drop: dropping.has(index), count: doc.count, ...(doc.gate_dir ? { gate_dir: doc.gate_dir } : {}),
  }));
}

export async function score(chunk: Chunk): Promise<{ index: number; score: number }> {
  if (chunk.fail) throw new ValueError(`chunk ${chunk.index} is unreadable`);
  if (chunk.drop && chunk.gate_dir) {
    while (!existsSync(join(chunk.gate_dir, 'open'))) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { index: chunk.index, score: chunk.index * 10 };
}
