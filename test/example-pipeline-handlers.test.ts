/**
 * Unit tests of examples/pipeline's handlers, called as plain functions and classes: the TypeScript ones
 * here, the Python ones through their pytest file (so the project's one test command covers both).
 */
import { describe, expect, test } from 'vitest';
import { MAX_CHUNKS, process as chunk, splitSentences } from '../examples/pipeline/handlers/chunk.ts';
import { Refiner } from '../examples/pipeline/handlers/refine.ts';
import { pytestSuite } from './support/pytest.ts';

describe('chunk', () => {
  test('splits on sentence ends and line ends', () => {
    expect(splitSentences('One. Two? Three!\nFour\n\nFive.')).toEqual(['One.', 'Two?', 'Three!', 'Four', 'Five.']);
  });

  test('groups sentences, numbers the chunks and carries only the judge settings', () => {
    const chunks = chunk({ title: 't', text: 'A. B. C.', chunk_sentences: 2, min_score: 0.7, max_rounds: 1 });
    expect(chunks).toEqual([
      { title: 't', index: 0, of: 2, text: 'A. B.', min_score: 0.7, max_rounds: 1 },
      { title: 't', index: 1, of: 2, text: 'C.', min_score: 0.7, max_rounds: 1 },
    ]);
  });

  test('clamps chunk_sentences to 1..20', () => {
    expect(chunk({ title: 't', text: 'A. B.', chunk_sentences: 0 })).toHaveLength(2);
    expect(chunk({ title: 't', text: 'A. B.', chunk_sentences: 99 })).toHaveLength(1);
  });

  test('refuses a fan-out wider than MAX_CHUNKS with a ChunkingError', () => {
    const text = Array.from({ length: MAX_CHUNKS + 1 }, (_, i) => `S${i}.`).join(' ');
    expect(() => chunk({ title: 'long', text, chunk_sentences: 1 })).toThrow(
      expect.objectContaining({ name: 'ChunkingError', message: expect.stringContaining(`splits into ${MAX_CHUNKS + 1} chunks`) }),
    );
  });
});

describe('refine', () => {
  test('drops filler, spells out informal words, lowers shouting, keeps acronyms, tidies punctuation', () => {
    const { text, edits } = new Refiner().rewrite('Basically, the API is VERY fast, thx.');
    expect(text).toBe('The API is fast, thanks.');
    expect(edits).toEqual(['removed "Basically"', 'removed "VERY"', '"thx" → "thanks"']);
  });

  test('one instance keeps its count and appends to earlier edits', () => {
    const refiner = new Refiner();
    const first = refiner.process({ text: 'It is really good.', edits: ['earlier'] });
    const second = refiner.process({ text: 'Fine.' });
    expect(first).toMatchObject({ text: 'It is good.', edits: ['earlier', 'removed "really"'], refined_by_instance: 1 });
    expect(second).toMatchObject({ text: 'Fine.', edits: [], refined_by_instance: 2 });
  });
});

// The Python handlers' pytest file, one test here per pytest test.
await pytestSuite('examples/pipeline/tests');
