/**
 * Finds the results in a runtime's response frame without parsing it: the byte range of each element and
 * of its `payload`. A large payload then goes to the store as the bytes the runtime wrote (a view into the
 * frame, never a copy), and only the small rest of each result is parsed. Parsing the whole frame would
 * hold the payload three more times: as a string, as a parse tree and as the JSON written again.
 */
import { COMMA, JsonScanner, ScanError } from '../protocol/json-scan.ts';

export interface ScannedResult {
  start: number;
  end: number;
  /** The `payload` member's value, when the element is an object that has one. */
  payload?: { start: number; end: number };
}

/** The elements of a top-level JSON array, or undefined when the text is not one (the caller's parser says why). */
export function scanResults(text: Uint8Array): ScannedResult[] | undefined {
  try {
    return array(new JsonScanner(text));
  } catch (err) {
    if (err instanceof ScanError) return undefined;
    throw err;
  }
}

function array(scanner: JsonScanner): ScannedResult[] {
  scanner.expect(0x5b);
  const results: ScannedResult[] = [];
  if (scanner.peek() === 0x5d) {
    scanner.at++;
    return done(scanner, results);
  }
  for (;;) {
    results.push(element(scanner));
    const next = scanner.next();
    if (next === 0x5d) return done(scanner, results);
    if (next !== COMMA) throw new ScanError();
  }
}

function done(scanner: JsonScanner, results: ScannedResult[]): ScannedResult[] {
  if (!scanner.atEnd()) throw new ScanError();
  return results;
}

function element(scanner: JsonScanner): ScannedResult {
  scanner.whitespace();
  const start = scanner.at;
  if (scanner.buffer[start] !== 0x7b) {
    scanner.value();
    return { start, end: scanner.at };
  }
  const payload = scanner.members().members.get('payload');
  return { start, end: scanner.at, ...(payload ? { payload } : {}) };
}
