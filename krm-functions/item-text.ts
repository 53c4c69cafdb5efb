/**
 * The text an item of a ResourceList came in as, for the items a function passes through untouched: the
 * reader (block-yaml-reader.ts) remembers where each one was, and the writer (block-yaml.ts) copies that text
 * instead of writing the object again. keda-scaler reads 6.5 MB of inject-sidecar's workloads for 1,000
 * actors and changes none of them; kyaml's functions keep what they do not touch in the same way.
 *
 * The text belongs to the object it was read into, not to a copy: a transform that changes an item builds a
 * new object (`{ ...item, metadata }`), which the writer writes as usual. Transforms never change an item
 * in place (they are pure functions of their input; the golden cases run each twice).
 */

export interface ItemText {
  /** The whole input. */
  text: string;
  /** Where the item's content starts (after its `- `) and where its last line ends. */
  start: number;
  end: number;
  /** The column the item's content starts at: every line after the first is indented to it or deeper. */
  column: number;
}

const TEXTS = new WeakMap<object, ItemText>();

export const rememberItemText = (item: object, text: ItemText): void => {
  TEXTS.set(item, text);
};

export const forgetItemText = (item: object): void => {
  TEXTS.delete(item);
};

export const itemTextOf = (item: object): ItemText | undefined => TEXTS.get(item);

/** The item's text with its content at `column`: the lines moved right or left together, as they are. */
export function itemTextAt(item: ItemText, column: number): string {
  const body = item.text.slice(item.start, item.end);
  if (column === item.column) return body;
  const shift = column - item.column;
  const pad = ' '.repeat(Math.max(0, shift));
  return body
    .split('\n')
    .map((line, i) => {
      if (i === 0 || line === '') return line;
      if (shift > 0) return pad + line;
      let spaces = 0;
      while (spaces < -shift && line.charCodeAt(spaces) === 32) spaces++;
      return line.slice(spaces);
    })
    .join('\n');
}
