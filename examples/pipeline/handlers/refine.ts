/**
 * refine (TypeScript class, payload mode): rewrites a low-scoring chunk so it scores better: drops filler
 * words, spells out informal abbreviations, lowers shouted words. It stands in for a rewriting model, so the
 * rules are loaded once when the runtime creates the instance, and `refined` counts the chunks this
 * instance has handled. It cannot lengthen a chunk that is too short; the judge's round limit stops that
 * chunk from looping.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface Vocabulary {
  filler: string[];
  informal: Record<string, string>;
  acronyms: string[];
}

export interface RefinePayload {
  text: string;
  edits?: string[];
  [key: string]: unknown;
}

const DEFAULT_VOCABULARY = fileURLToPath(new URL('./vocabulary.json', import.meta.url));
// A word and the comma right after it: a dropped filler word takes its comma along ("Basically, it" → "it").
const WORD = /([A-Za-z][A-Za-z'/]*)(,?)/g;

export class Refiner {
  private readonly filler: Set<string>;
  private readonly informal: Map<string, string>;
  private readonly acronyms: Set<string>;
  refined = 0;

  // The runtime constructs handler classes without arguments, so the parameter needs a default.
  constructor(vocabularyPath = DEFAULT_VOCABULARY) {
    const vocabulary = JSON.parse(readFileSync(vocabularyPath, 'utf8')) as Vocabulary;
    this.filler = new Set(vocabulary.filler);
    this.informal = new Map(Object.entries(vocabulary.informal));
    this.acronyms = new Set(vocabulary.acronyms);
  }

  /** The rewritten text and a description of each edit; pure, so tests can call it directly. */
  rewrite(text: string): { text: string; edits: string[] } {
    const edits: string[] = [];
    const rewritten = text.replace(WORD, (_, word: string, comma: string) => {
      const lower = word.toLowerCase();
      if (this.filler.has(lower)) {
        edits.push(`removed "${word}"`);
        return '';
      }
      const expansion = this.informal.get(lower);
      if (expansion !== undefined) {
        edits.push(`"${word}" → "${expansion}"`);
        return expansion + comma;
      }
      if (word.length >= 3 && word === word.toUpperCase() && !this.acronyms.has(word)) {
        edits.push(`"${word}" → "${lower}"`);
        return lower + comma;
      }
      return word + comma;
    });
    const tidy = rewritten
      .replace(/\s+([,.;:!?])/g, '$1')
      .replace(/\s{2,}/g, ' ')
      .trim()
      // A removed first word leaves a sentence starting in lower case.
      .replace(/(^|[.!?]\s+)([a-z])/g, (_, start: string, letter: string) => start + letter.toUpperCase());
    return { text: tidy, edits };
  }

  process(payload: RefinePayload): RefinePayload {
    this.refined += 1;
    const { text, edits } = this.rewrite(payload.text);
    return { ...payload, text, edits: [...(payload.edits ?? []), ...edits], refined_by_instance: this.refined };
  }
}
