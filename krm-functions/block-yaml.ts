/**
 * The KRM functions' YAML writer: byte for byte what `js-yaml.dump(value, { noRefs: true, lineWidth: -1 })`
 * writes, several times faster on a ResourceList. js-yaml decides each scalar's style by scanning it and trying
 * every implicit type's pattern on it (is `yes` a boolean, `1e3` a number?), for every occurrence; a
 * ResourceList of 1,000 actors repeats the same few hundred keys and values tens of thousands of times. Here
 * js-yaml still renders every distinct scalar, once, and this module only lays out the block structure
 * around them, the way js-yaml's writeBlockMapping and writeBlockSequence do. Anything it does not lay out
 * itself (a key on several lines or longer than 1,024 characters, a Date, a Buffer, a class instance's
 * non-plain values) sends the whole value to js-yaml, so the output never differs
 * (krm-functions/block-yaml.test.ts compares the two).
 */
import jsyaml from 'js-yaml';
import { itemTextAt, itemTextOf } from './item-text.ts';

const OPTIONS: jsyaml.DumpOptions = { noRefs: true, lineWidth: -1 };

/** Thrown inside the writer when js-yaml has to write the whole value. */
const UNSUPPORTED = Symbol('unsupported by the fast writer');

/**
 * A string js-yaml certainly writes as it is: a letter, then letters, digits and `_ . / -` (no indicator, space
 * or `:`, and no number, date or `.inf` starts with a letter), unless it is one of the words it would read back
 * as null or a boolean, YAML 1.1's included. Most names, images and keys are; they skip js-yaml entirely.
 */
const SURELY_PLAIN = /^[A-Za-z][A-Za-z0-9_./-]*$/;
const READS_AS_ANOTHER_TYPE = new Set(
  ['null', 'Null', 'NULL', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE'].concat(
    ['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON', 'n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF'],
  ),
);

/** Written plain by js-yaml, and so read back by js-yaml as this very string (block-yaml-reader.ts uses it too). */
export const isSurelyPlain = (text: string): boolean => SURELY_PLAIN.test(text) && !READS_AS_ANOTHER_TYPE.has(text);

const INDENT = 2;
const indents: string[] = [];
const indent = (level: number) => (indents[level] ??= ' '.repeat(INDENT * level));
const newLines: string[] = [];
/** A line break and the next line's indentation, built once per level. */
const newLine = (level: number) => (newLines[level] ??= `\n${indent(level)}`);

const isMapping = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && Object.prototype.toString.call(value) === '[object Object]';

/** js-yaml leaves out a mapping's undefined values. */
const writtenKeys = (object: Record<string, unknown>) => Object.keys(object).filter((key) => object[key] !== undefined);

/** How much text the writer appends to before it flattens it into one piece (flush). */
const PIECE = 512 * 1024;

/** Appends to one string as it goes, where js-yaml builds each node's text and then copies it into its parent's. */
class Writer {
  out = '';
  private readonly pieces: string[] = [];

  /**
   * Every append makes a small string object pointing at the two it joins, and all of them live until the text
   * is used: megabytes of them that the young generation's collector copies again at every collection. A
   * flattened piece is one object.
   */
  flush(): void {
    if (this.out.length < PIECE) return;
    // charCodeAt flattens the appended string in place (V8), so the piece kept holds no small strings.
    this.out.charCodeAt(0);
    this.pieces.push(this.out);
    this.out = '';
  }

  text(): string {
    this.pieces.push(this.out);
    return this.pieces.join('');
  }

  /** A scalar as js-yaml writes it at the top level (a key or a value on one line reads the same anywhere). */
  private readonly scalars = new Map<unknown, string>();

  private scalar(value: string | number | boolean | null): string {
    if (typeof value === 'string' && isSurelyPlain(value)) return value;
    let text = this.scalars.get(value);
    if (text === undefined) {
      text = jsyaml.dump(value, OPTIONS).slice(0, -1);
      this.scalars.set(value, text);
    }
    return text;
  }

  /** A string value at `level`: a block scalar's lines are indented by the level, as js-yaml's indentString does. */
  private string(value: string, level: number): string {
    const text = this.scalar(value);
    if (!value.includes('\n') || (text[0] !== '|' && text[0] !== '>')) return text;
    const extra = indent(Math.max(1, level) - 1);
    if (extra === '') return text;
    return text
      .split('\n')
      .map((line, i) => (i === 0 || line === '' ? line : extra + line))
      .join('\n');
  }

  private key(key: string): string {
    // js-yaml writes multi-line keys double-quoted and keys over 1,024 characters as explicit `? ` pairs.
    if (key.length > 1024 || key.includes('\n')) throw UNSUPPORTED;
    return this.scalar(key);
  }

  /** A scalar, `[]` or `{}`: what js-yaml writes on the line of its key or dash. */
  private inline(value: unknown, level: number): string {
    if (value === null || typeof value === 'boolean') return this.scalar(value);
    // A Map takes -0 for 0, which js-yaml writes as -0.0.
    if (typeof value === 'number') return Object.is(value, -0) ? jsyaml.dump(value, OPTIONS).slice(0, -1) : this.scalar(value);
    if (typeof value === 'string') return this.string(value, level);
    if (Array.isArray(value) && value.length === 0) return '[]';
    if (isMapping(value)) return '{}';
    throw UNSUPPORTED;
  }

  /** js-yaml's writeNode in block style, for a value that is not undefined. */
  node(value: unknown, level: number, compact: boolean): void {
    if (Array.isArray(value) && value.length > 0) return this.sequence(value, level, compact);
    if (isMapping(value)) {
      const keys = writtenKeys(value);
      if (keys.length > 0) return this.mapping(value, keys, level, compact);
    }
    this.out += this.inline(value, level);
  }

  private sequence(items: unknown[], level: number, compact: boolean): void {
    for (let i = 0; i < items.length; i++) {
      if (!compact || i > 0) {
        this.flush();
        this.out += newLine(level);
      }
      // Nothing in a sequence starts on a new line (compact), so the dash is always followed by a space.
      this.out += '- ';
      const item = items[i];
      // A ResourceList's item passed through as it came is copied as it was read (item-text.ts).
      const text = typeof item === 'object' && item !== null ? itemTextOf(item) : undefined;
      if (text) this.out += itemTextAt(text, INDENT * (level + 1));
      // js-yaml writes a hole or an undefined item as null.
      else this.node(item ?? null, level + 1, true);
    }
  }

  private mapping(object: Record<string, unknown>, keys: string[], level: number, compact: boolean): void {
    for (let i = 0; i < keys.length; i++) {
      if (!compact || i > 0) this.out += newLine(level);
      const key = keys[i]!;
      const value = object[key];
      this.out += this.key(key);
      // A non-empty sequence or mapping starts on the next line; everything else on this one.
      if (Array.isArray(value) && value.length > 0) {
        this.out += ':';
        this.sequence(value, level + 1, false);
        continue;
      }
      const nestedKeys = isMapping(value) ? writtenKeys(value) : [];
      if (nestedKeys.length > 0) {
        this.out += ':';
        this.mapping(value as Record<string, unknown>, nestedKeys, level + 1, false);
        continue;
      }
      this.out += ': ';
      this.out += this.inline(value, level + 1);
    }
  }
}

/** Block YAML, without anchors or aliases, with no line folding. */
export function dumpBlockYaml(value: unknown): string {
  try {
    if (value === undefined) return '';
    const writer = new Writer();
    writer.node(value, 0, true);
    writer.out += '\n';
    return writer.text();
  } catch (err) {
    if (err !== UNSUPPORTED) throw err;
    return jsyaml.dump(value, OPTIONS);
  }
}
