/**
 * Reads YAML nodes strictly and says exactly where a problem is: "<file>:<line>:<col>: <field>: <problem>".
 * The original decoded with KnownFields(true), so an unknown key is an error here too, never ignored.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type Pair } from 'yaml';
import { isPlainObject, type JsonValue } from '../../protocol/json.ts';
import { parseDuration } from '../../protocol/duration.ts';
import { ToolConfigError } from './config.ts';
import { errorText } from '../../protocol/errors.ts';

export interface Entry {
  key: string;
  value: Node | null;
  /** Where the key is written, for messages about the entry as a whole. */
  keyNode: Node;
}

export class YamlReader {
  private readonly lines = new LineCounter();
  readonly root: Node | null;

  constructor(
    readonly file: string,
    text: string,
  ) {
    const doc = parseDocument(text, { lineCounter: this.lines, uniqueKeys: true, prettyErrors: false });
    const problem = doc.errors[0];
    if (problem) {
      const { line, col } = this.lines.linePos(problem.pos[0]);
      throw new ToolConfigError(`${file}:${line}:${col}: invalid YAML: ${problem.message.split('\n')[0]}`);
    }
    this.root = (doc.contents as Node | null) ?? null;
  }

  where(node: Node | null | undefined): string {
    const offset = node?.range?.[0];
    if (offset === undefined) return this.file;
    const { line, col } = this.lines.linePos(offset);
    return `${this.file}:${line}:${col}`;
  }

  fail(node: Node | null | undefined, field: string, problem: string): never {
    throw new ToolConfigError(`${this.where(node)}: ${field}: ${problem}`);
  }

  isNull(node: Node | null): boolean {
    return node === null || (isScalar(node) && node.value === null);
  }

  /** The entries of a mapping, rejecting keys outside `allowed` (all keys allowed when omitted). */
  entries(node: Node | null, field: string, allowed?: readonly string[]): Entry[] {
    if (this.isNull(node)) return [];
    if (!isMap(node)) this.fail(node, field, `must be a mapping, got ${this.describe(node)}`);
    return node.items.map((pair: Pair<unknown, unknown>) => {
      const keyNode = pair.key as Node;
      const key = isScalar(keyNode) ? keyNode.value : undefined;
      if (typeof key !== 'string' && typeof key !== 'number') this.fail(keyNode, field, 'keys must be plain strings');
      const name = String(key);
      if (allowed && !allowed.includes(name)) {
        this.fail(keyNode, field, `unknown key "${name}" (allowed: ${allowed.join(', ')})`);
      }
      return { key: name, value: (pair.value as Node | null) ?? null, keyNode };
    });
  }

  items(node: Node | null, field: string): Node[] {
    if (this.isNull(node)) return [];
    if (!isSeq(node)) this.fail(node, field, `must be a list, got ${this.describe(node)}`);
    return node.items as Node[];
  }

  string(node: Node | null, field: string): string {
    if (!isScalar(node) || typeof node.value !== 'string') this.fail(node, field, `must be a string, got ${this.describe(node)}`);
    return node.value;
  }

  /** Numbers and booleans read as text too, as Go's yaml decoder does for a map[string]string. */
  text(node: Node | null, field: string): string {
    if (!isScalar(node) || !['string', 'number', 'boolean'].includes(typeof node.value)) {
      this.fail(node, field, `must be a string, got ${this.describe(node)}`);
    }
    return String(node.value);
  }

  boolean(node: Node | null, field: string): boolean {
    if (!isScalar(node) || typeof node.value !== 'boolean') this.fail(node, field, `must be true or false, got ${this.describe(node)}`);
    return node.value;
  }

  /** Whole seconds as the original wrote them (`timeout: 30`), or a duration such as "5m". */
  seconds(node: Node | null, field: string): number {
    if (isScalar(node) && typeof node.value === 'number') {
      if (!Number.isInteger(node.value) || node.value < 0) this.fail(node, field, `must be a whole number of seconds >= 0, got ${node.value}`);
      return node.value;
    }
    if (isScalar(node) && typeof node.value === 'string') {
      try {
        return Math.ceil(parseDuration(node.value, field) / 1000);
      } catch (err) {
        this.fail(node, field, errorText(err));
      }
    }
    return this.fail(node, field, `must be seconds (30) or a duration ("5m"), got ${this.describe(node)}`);
  }

  json(node: Node | null): JsonValue {
    return node === null ? null : (node.toJSON() as JsonValue);
  }

  describe(node: Node | null): string {
    if (node === null) return 'nothing';
    if (isMap(node)) return 'a mapping';
    if (isSeq(node)) return 'a list';
    if (isScalar(node)) {
      const v = node.value;
      if (v === null) return 'nothing';
      if (typeof v === 'string') return `"${v}"`;
      return String(v);
    }
    const value = node.toJSON() as unknown;
    return isPlainObject(value) ? 'a mapping' : typeof value;
  }
}
