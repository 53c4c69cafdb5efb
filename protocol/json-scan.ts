/**
 * Finds byte ranges in JSON text without parsing it: where a value starts and ends, and the members of an
 * object. Used where parsing (or writing again) a whole message would cost more than the part that is
 * wanted: a runtime response's large payloads (payload-store/response-scan.ts), and an envelope's headers
 * on a traced hop (sidecar/hop-trace.ts). Strings are skipped from quote to quote, not byte by byte.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
export const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/** The text is not the JSON the scan expected; the caller's parser says why, or the caller falls back. */
export class ScanError extends Error {}

/** A value's bytes: [start, end). */
export interface ByteRange {
  start: number;
  end: number;
}

export class JsonScanner {
  at = 0;
  readonly buffer: Buffer;

  constructor(text: Uint8Array, at = 0) {
    this.buffer = Buffer.from(text.buffer, text.byteOffset, text.byteLength);
    this.at = at;
  }

  /** Skips one value of any kind; containers by counting brackets outside strings. */
  value(): void {
    this.whitespace();
    const first = this.buffer[this.at];
    if (first === undefined) throw new ScanError();
    if (first === QUOTE) return this.string();
    if (first === OPEN_BRACE || first === 0x5b) {
      let depth = 0;
      while (this.at < this.buffer.length) {
        const byte = this.buffer[this.at]!;
        if (byte === QUOTE) {
          this.string();
          continue;
        }
        this.at++;
        if (byte === OPEN_BRACE || byte === 0x5b) depth++;
        else if (byte === CLOSE_BRACE || byte === 0x5d) {
          depth--;
          if (depth === 0) return;
        }
      }
      throw new ScanError();
    }
    const start = this.at;
    while (this.at < this.buffer.length && !isDelimiter(this.buffer[this.at]!)) this.at++;
    if (this.at === start) throw new ScanError();
  }

  /** Jumps from quote to quote (indexOf is fast on long strings); a quote after an odd run of backslashes is escaped. */
  string(): void {
    if (this.buffer[this.at] !== QUOTE) throw new ScanError();
    let from = this.at + 1;
    for (;;) {
      const quote = this.buffer.indexOf(QUOTE, from);
      if (quote < 0) throw new ScanError();
      let backslashes = 0;
      while (this.buffer[quote - 1 - backslashes] === BACKSLASH) backslashes++;
      if (backslashes % 2 === 0) {
        this.at = quote + 1;
        return;
      }
      from = quote + 1;
    }
  }

  /**
   * The members of the object that starts here: each key (parsed, it is short) with its value's range.
   * `open` is the offset of the object's `{`; the scanner ends just after its `}`. A key given twice keeps
   * its last value, as JSON.parse does.
   */
  members(): { open: number; members: Map<string, ByteRange> } {
    this.whitespace();
    const open = this.at;
    this.expect(OPEN_BRACE);
    const members = new Map<string, ByteRange>();
    if (this.peek() === CLOSE_BRACE) {
      this.at++;
      return { open, members };
    }
    for (;;) {
      this.whitespace();
      const keyStart = this.at;
      this.string();
      const key = JSON.parse(this.buffer.toString('utf8', keyStart, this.at)) as string;
      if (this.next() !== COLON) throw new ScanError();
      this.whitespace();
      const start = this.at;
      this.value();
      members.set(key, { start, end: this.at });
      const next = this.next();
      if (next === CLOSE_BRACE) return { open, members };
      if (next !== COMMA) throw new ScanError();
    }
  }

  expect(byte: number): void {
    if (this.next() !== byte) throw new ScanError();
  }

  next(): number | undefined {
    this.whitespace();
    return this.buffer[this.at++];
  }

  peek(): number | undefined {
    this.whitespace();
    return this.buffer[this.at];
  }

  whitespace(): void {
    for (;;) {
      const byte = this.buffer[this.at];
      if (byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09) this.at++;
      else return;
    }
  }

  /** Only whitespace is left. */
  atEnd(): boolean {
    this.whitespace();
    return this.at === this.buffer.length;
  }
}

function isDelimiter(byte: number): boolean {
  return byte === COMMA || byte === CLOSE_BRACE || byte === 0x5d || byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** The members of a top-level JSON object, or undefined when the text is not one. */
export function scanObjectMembers(text: Uint8Array): { open: number; members: Map<string, ByteRange> } | undefined {
  try {
    const scanner = new JsonScanner(text);
    const found = scanner.members();
    return scanner.atEnd() ? found : undefined;
  } catch (err) {
    if (err instanceof ScanError) return undefined;
    throw err;
  }
}
