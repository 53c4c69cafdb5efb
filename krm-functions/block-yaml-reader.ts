/**
 * The KRM functions' fast YAML reader, for the regular block YAML that a ResourceList on a pipe is: what
 * block-yaml.ts writes (sequences indented under their key) and what kpt writes (sequences level with their
 * key). js-yaml spends most of a function's parse time on the same few hundred keys and scalars, tens of
 * thousands of times over; here the reader lays out the block structure itself and asks js-yaml for each
 * distinct one-line scalar once, so every scalar means exactly what js-yaml makes of it.
 *
 * Anything else sends the whole text to js-yaml (the caller's fallback): flow collections other than `[]` and
 * `{}`, anchors, aliases and merge keys, `?` keys, multi-line plain or quoted scalars, folded scalars, block
 * scalars with an indentation indicator, tabs, CR, several documents, a repeated key (js-yaml's error then
 * names it). So the reader never answers differently from js-yaml; it only answers sooner
 * (block-yaml-reader.test.ts compares the two).
 *
 * A function's ResourceList is read with `lazyItems` (readBlockYaml): an item's fields other than apiVersion,
 * kind and metadata are read when the function asks for them, each alone by the same rules, and an item it
 * passes through goes out as the text it came in. What is never asked for is not read, so a YAML error there
 * (a repeated key, an unclosed flow collection) goes on to the next reader (lazy-items.test.ts).
 */
import jsyaml from 'js-yaml';
import { isSurelyPlain } from './block-yaml.ts';
import { forgetItemText, rememberItemText } from './item-text.ts';

/** Returned when the text is outside the subset: the caller parses it with js-yaml instead. */
export const NOT_BLOCK_YAML = Symbol('not the block YAML subset');

interface Line {
  indent: number;
  /** The line without its indentation. */
  text: string;
}

class Unsupported extends Error {}

const isItem = (text: string) => text === '-' || text.startsWith('- ');
/** The spaces a line starts with. */
function leadingSpaces(line: string): number {
  let spaces = 0;
  while (line.charCodeAt(spaces) === 32) spaces++;
  return spaces;
}
/** `key: value` (or `key:`) on a sequence item's line, unless the item is some other node. */
const entryOf = (text: string) => (/^[|>[{&*!%@`?]/.test(text) ? undefined : splitKey(text));
const unsupported = (): never => {
  throw new Unsupported();
};

/** A line that holds a key and perhaps its value: `key:` or `key: value`, the key plain or quoted on the line. */
function splitKey(text: string): { key: string; rest: string } | undefined {
  const first = text[0];
  let end: number;
  if (first === '"' || first === "'") {
    end = closingQuote(text, first);
    if (end < 0) return undefined;
    end++;
  } else {
    end = text.indexOf(':');
    while (end >= 0 && end + 1 < text.length && text[end + 1] !== ' ') end = text.indexOf(':', end + 1);
    if (end < 0) return undefined;
  }
  if (text[end] !== ':' || (end + 1 < text.length && text[end + 1] !== ' ')) return undefined;
  return { key: text.slice(0, end), rest: text.slice(end + 1).trimStart() };
}

function closingQuote(text: string, quote: string): number {
  for (let i = 1; i < text.length; i++) {
    if (quote === '"' && text[i] === '\\') i++;
    else if (text[i] === quote) {
      if (quote === "'" && text[i + 1] === "'") i++;
      else return i;
    }
  }
  return -1;
}

/** What a ResourceList's items are read lazily from: the whole text, and where each of its lines starts. */
interface ItemSource {
  text: string;
  lineStarts: number[];
}

/** An item's fields a function reads whatever the item is (which object it is, and its annotations). */
const READ_NOW = new Set(['apiVersion', 'kind', 'metadata']);

class Reader {
  private at = 0;
  /** The line nextContent found last, and where: a line is peeked before it is taken. */
  private peeked: { at: number; line: Line } | undefined;
  /** The last line that held content: where an item's text ends. */
  private lastContent = -1;

  constructor(
    private readonly source: string[],
    private readonly schema: jsyaml.Schema,
    private readonly itemSource?: ItemSource,
    private readonly scalars = new Map<string, unknown>(),
  ) {}

  read(): unknown {
    // The first line decides what the document is; a document of one scalar is js-yaml's to read.
    const first = this.nextContent();
    // An empty document is undefined to js-yaml's load and absent to its loadAll: js-yaml's to say.
    if (!first) return unsupported();
    const value = this.itemSource && first.indent === 0 && !isItem(first.text) ? this.mapping(0, undefined, true) : this.block(first.indent);
    if (this.nextContent()) unsupported();
    return value;
  }

  /** The next line that is not blank or a comment, without consuming it; block scalars read raw lines. */
  private nextContent(): Line | undefined {
    if (this.peeked?.at === this.at) return this.peeked.line;
    while (this.at < this.source.length) {
      const raw = this.source[this.at]!;
      const indent = leadingSpaces(raw);
      const text = raw.slice(indent);
      if (text === '' || text[0] === '#') {
        this.at++;
        continue;
      }
      const line = { indent, text };
      this.peeked = { at: this.at, line };
      return line;
    }
    return undefined;
  }

  /** A mapping or a sequence whose lines start at `indent`. */
  private block(indent: number): unknown {
    const line = this.nextContent()!;
    if (line.indent !== indent) unsupported();
    return isItem(line.text) ? this.sequence(indent) : this.mapping(indent, undefined);
  }

  /**
   * Entries at `indent`; `firstText` is an entry already cut from a sequence item's line (`- key: value`).
   * `resourceList`: the document's top mapping, whose `items` are read lazily. `lazy`: a ResourceList's
   * item, whose fields other than READ_NOW are read when first asked for.
   */
  private mapping(indent: number, firstText: string | undefined, resourceList = false, lazy = false): Record<string, unknown> {
    const object: Record<string, unknown> = {};
    let text = firstText;
    if (text === undefined) text = this.take(indent);
    for (;;) {
      const entry = splitKey(text);
      if (!entry) unsupported();
      const key = this.key(entry!.key);
      if (Object.prototype.hasOwnProperty.call(object, key)) unsupported();
      const rest = entry!.rest;
      if (resourceList && key === 'items') object[key] = this.items(rest, indent);
      else if (lazy && (rest === '' || rest[0] === '#') && !READ_NOW.has(key)) this.later(object, key, indent);
      else object[key] = this.value(rest, indent, true);
      const next = this.nextContent();
      if (!next || next.indent < indent) return object;
      if (next.indent > indent || isItem(next.text)) unsupported();
      text = this.take(indent);
    }
  }

  /** `lazy`: a ResourceList's items, each remembered as the text it was (item-text.ts). */
  private sequence(indent: number, lazy = false): unknown[] {
    const items: unknown[] = [];
    for (;;) {
      const text = this.take(indent);
      const line = this.at - 1;
      if (!isItem(text)) unsupported();
      const after = text.slice(1);
      const content = after.trimStart();
      const column = indent + 1 + after.length - content.length;
      items.push(lazy ? this.lazyItem(content, indent, column, line) : this.item(content, indent, column));
      const next = this.nextContent();
      if (!next || next.indent < indent) return items;
      if (next.indent === indent && isItem(next.text)) continue;
      // kpt's style: a sequence level with its key ends where that mapping's next key begins.
      if (next.indent === indent) return items;
      unsupported();
    }
  }

  /** What follows `- ` on a sequence item's line (at `dash`), whose content starts at column `column`. */
  private item(text: string, dash: number, column: number): unknown {
    if (text === '' || text[0] === '#') return this.nested(dash, false);
    if (isItem(text)) return unsupported();
    const entry = entryOf(text);
    if (entry) return this.mapping(column, text);
    return this.value(text, dash, false);
  }

  /** A ResourceList's `items`: a sequence of items read lazily, or whatever else is there, read as usual. */
  private items(rest: string, indent: number): unknown {
    const next = rest === '' ? this.nextContent() : undefined;
    if (next && isItem(next.text) && next.indent >= indent) return this.sequence(next.indent, true);
    return this.value(rest, indent, true);
  }

  /** One of a ResourceList's items: a mapping on the dash's line is read lazily and its text remembered. */
  private lazyItem(text: string, dash: number, column: number, line: number): unknown {
    if (text === '' || text[0] === '#' || isItem(text) || !entryOf(text)) return this.item(text, dash, column);
    const object = this.mapping(column, text, false, true);
    const { text: whole, lineStarts } = this.itemSource!;
    rememberItemText(object, { text: whole, start: lineStarts[line]! + column, end: lineStarts[this.lastContent]! + this.source[this.lastContent]!.length, column });
    return object;
  }

  /**
   * The value below `key:` (at `indent`) as a property read when it is first asked for. Its lines are the
   * ones below the key, deeper than it or (kpt's style) a sequence level with it; they are only counted now.
   */
  private later(object: Record<string, unknown>, key: string, indent: number): void {
    const from = this.at;
    let end = from;
    let levelSequence: boolean | undefined;
    for (let at = from; at < this.source.length; at++) {
      const raw = this.source[at]!;
      const spaces = leadingSpaces(raw);
      if (spaces === raw.length) continue;
      if (raw[spaces] === '#') {
        // A comment, or (deeper than the key) perhaps a block scalar's line: the text keeps it either way.
        if (spaces > indent) end = at + 1;
        continue;
      }
      levelSequence ??= spaces === indent && isItem(raw.slice(spaces));
      if (spaces > indent || (levelSequence && spaces === indent && isItem(raw.slice(spaces)))) {
        end = at + 1;
        continue;
      }
      break;
    }
    if (end === from) {
      object[key] = null;
      return;
    }
    this.at = end;
    this.peeked = undefined;
    this.lastContent = end - 1;
    const value = (): unknown => {
      const read = this.lazyValue(from, end, indent);
      Object.defineProperty(object, key, { value: read, writable: true, enumerable: true, configurable: true });
      return read;
    };
    const set = (read: unknown) => {
      // The item is no longer what its text says.
      forgetItemText(object);
      Object.defineProperty(object, key, { value: read, writable: true, enumerable: true, configurable: true });
    };
    Object.defineProperty(object, key, { get: value, set, enumerable: true, configurable: true });
  }

  /** The value on lines [from, end) below a key at `indent`: by this reader, else by js-yaml alone. */
  private lazyValue(from: number, end: number, indent: number): unknown {
    const lines = this.source.slice(from, end);
    try {
      const reader = new Reader(lines, this.schema, undefined, this.scalars);
      const value = reader.nested(indent, true);
      if (reader.nextContent()) unsupported();
      return value;
    } catch (err) {
      if (!(err instanceof Unsupported)) throw err;
    }
    // Without anchors and aliases (readBlockYaml checked) a value means the same alone, moved left by its key's indentation.
    const text = lines.map((line) => line.slice(Math.min(indent, leadingSpaces(line)))).join('\n');
    return jsyaml.load(text, { schema: this.schema }) ?? null;
  }

  /** The value after `key:` (or a sequence item that is a scalar); `indent` is the owner's. */
  private value(rest: string, indent: number, inMapping: boolean): unknown {
    if (rest === '' || rest[0] === '#') return this.nested(indent, inMapping);
    if (rest[0] === '|') return this.literal(rest, indent);
    if (rest === '[]') return [];
    if (rest === '{}') return {};
    if (/^[>[{&*!%@`?]/.test(rest) || isItem(rest)) unsupported();
    const value = this.scalar(rest);
    if (typeof value === 'object' && value !== null) unsupported();
    return value;
  }

  /** A value on the lines below its key: deeper lines, or (in a mapping, kpt's style) a sequence at the key's level. */
  private nested(indent: number, inMapping: boolean): unknown {
    const next = this.nextContent();
    if (next && next.indent > indent) return this.block(next.indent);
    if (inMapping && next && next.indent === indent && isItem(next.text)) return this.sequence(indent);
    return null;
  }

  /** A literal block scalar (`|`, `|-`, `|+`, `|2-`...): the lines more indented than the owner, as they are. */
  private literal(header: string, indent: number): string {
    // `|`, then at most one chomping indicator and one indentation indicator, in either order.
    const parts = /^\|(?:([1-9])([+-]?)|([+-])([1-9]?))?$/.exec(header.trimEnd());
    if (!parts) return unsupported();
    const chomp = parts[2] || parts[3] || '';
    const indicated = Number(parts[1] || parts[4] || 0);
    // The header's line is consumed already: the lines from here on are the scalar's until one is less indented.
    const body: string[] = [];
    // With an indentation indicator the content's indentation is the owner's plus it; else its first line's.
    let contentIndent = indicated > 0 ? indent + indicated : -1;
    while (this.at < this.source.length) {
      const raw = this.source[this.at]!;
      const spaces = leadingSpaces(raw);
      if (spaces === raw.length) {
        // Spaces beyond the content's indentation are content; a line of fewer is an empty line. Before the
        // first content line the indentation is not known yet: js-yaml's to judge.
        if (contentIndent < 0 && spaces > 0) unsupported();
        body.push(contentIndent >= 0 && spaces > contentIndent ? raw.slice(contentIndent) : '');
        this.at++;
        continue;
      }
      if (contentIndent < 0) {
        if (spaces <= indent) break;
        contentIndent = spaces;
      } else if (spaces < contentIndent) {
        break;
      }
      body.push(raw.slice(contentIndent));
      this.lastContent = this.at;
      this.at++;
    }
    // Empty lines at the end are kept only by `|+`.
    let trailing = 0;
    while (trailing < body.length && body[body.length - 1 - trailing] === '') trailing++;
    const content = body.slice(0, body.length - trailing);
    if (content.length === 0) return chomp === '+' ? '\n'.repeat(trailing) : '';
    const text = content.join('\n');
    if (chomp === '-') return text;
    if (chomp === '+') return `${text}\n${'\n'.repeat(trailing)}`;
    return `${text}\n`;
  }

  private key(text: string): string {
    if (text === '<<' || text[0] === '?' || text[0] === '&' || text[0] === '*' || text[0] === '!' || text[0] === '[' || text[0] === '{') unsupported();
    const value = this.scalar(text);
    if (typeof value === 'object' && value !== null) unsupported();
    const key = String(value);
    if (key === '__proto__') unsupported();
    return key;
  }

  /** One scalar's text as js-yaml reads it, alone: once per distinct text, and names without asking it. */
  private scalar(text: string): unknown {
    if (isSurelyPlain(text)) return text;
    if (this.scalars.has(text)) return this.scalars.get(text);
    let value: unknown;
    try {
      value = jsyaml.load(text, { schema: this.schema });
    } catch {
      unsupported();
    }
    this.scalars.set(text, value);
    return value;
  }

  /** The text of the line at `indent`, consumed. */
  private take(indent: number): string {
    const line = this.nextContent();
    if (!line || line.indent !== indent) unsupported();
    this.lastContent = this.at;
    this.at++;
    return line!.text;
  }
}

/**
 * Tabs and CR (indentation and line ends it does not lay out), a byte order mark, and what js-yaml refuses as
 * non-printable (it reads block scalars' text itself, so it must not take what js-yaml would not); lone
 * surrogates, which js-yaml refuses too, are found by isWellFormed.
 */
// ES2024's String.prototype.isWellFormed (Node 20 has it); the project's TypeScript lib is older.
const isWellFormed = (text: string): boolean => (text as string & { isWellFormed(): boolean }).isWellFormed();
const UNREAD_CHARACTERS = /[\x00-\x09\x0B-\x1F\x7F-\x84\x86-\x9F\uFEFF\uFFFE\uFFFF]/;

/** An alias's `*`, and a block scalar header keeping its trailing empty lines. */
const MIGHT_NOT_BE_ALONE = /\*|\|[1-9]?\+/g;

/**
 * Whether some value might mean something else read on its own: one with an alias (to an anchor that may be
 * elsewhere), or a block scalar that keeps its trailing empty lines (`|+`), which an item's text, ending at its
 * last line of content, would lose. Each `*` or `|+` counts where a node could start: first on its line, or
 * after a colon, a dash, a `?` or a `[`. Anchors and tags alone mean the same anywhere. Found by the
 * characters first, then each one's context: testing every line took longer than reading the items it saves.
 */
function mightNotMeanTheSameAlone(text: string): boolean {
  MIGHT_NOT_BE_ALONE.lastIndex = 0;
  for (let found = MIGHT_NOT_BE_ALONE.exec(text); found; found = MIGHT_NOT_BE_ALONE.exec(text)) {
    let before = found.index - 1;
    while (before >= 0 && text[before] === ' ') before--;
    if (before < 0 || '\n:-?['.includes(text[before]!)) return true;
  }
  return false;
}

/**
 * One YAML document in the subset above, or NOT_BLOCK_YAML; its scalars read as js-yaml reads them with
 * `schema`.
 *
 * `lazyItems`: the document is a ResourceList whose items are read lazily. Each item's apiVersion, kind and
 * metadata are read at once; its other fields when a function first reads them (what it does not read, it
 * never pays for, and any YAML error there is the next reader's to find), and the item remembers its text
 * (item-text.ts), which the writer copies when the item goes out unchanged. Where a value might not mean the
 * same alone (mightNotMeanTheSameAlone), everything is read at once, as without the option.
 */
export function readBlockYaml(text: string, schema: jsyaml.Schema, lazyItems = false): unknown {
  if (UNREAD_CHARACTERS.test(text) || !isWellFormed(text)) return NOT_BLOCK_YAML;
  const source = text.split('\n');
  // The text's last line break ends its last line; it is not an empty line after it.
  if (source.at(-1) === '') source.pop();
  // One document: a leading `---` is allowed, any other marker is js-yaml's to read.
  let start = 0;
  if (source[0] === '---') start = 1;
  for (let i = start; i < source.length; i++) {
    const line = source[i]!;
    if ((line.startsWith('---') || line.startsWith('...')) && (line.length === 3 || line[3] === ' ')) return NOT_BLOCK_YAML;
    if (line[0] === '%') return NOT_BLOCK_YAML;
  }
  let itemSource: ItemSource | undefined;
  if (lazyItems && !mightNotMeanTheSameAlone(text)) {
    const lineStarts: number[] = [];
    let offset = 0;
    for (const line of source) {
      lineStarts.push(offset);
      offset += line.length + 1;
    }
    itemSource = { text, lineStarts: lineStarts.slice(start) };
  }
  try {
    return new Reader(source.slice(start), schema, itemSource).read();
  } catch (err) {
    if (err instanceof Unsupported) return NOT_BLOCK_YAML;
    throw err;
  }
}

