/**
 * The tables the benches print (support.ts printTable: a title line, then a markdown table), read back
 * from their output, and several runs' tables folded into one of medians. A cell that is a number in every
 * run (a percent sign, thousands separators and a unit word after it allowed) becomes the median; any
 * other cell keeps each run's value, so nothing is averaged that is not a number.
 */

export interface PrintedTable {
  readonly title: string;
  readonly header: string[];
  readonly rows: string[][];
}

/** The cells of a table line; `\\|` is a pipe inside a cell (printTable escapes them). */
const cellsOf = (line: string) => line.trim().slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|'));
const isSeparator = (line: string) => /^\|[-|: ]+\|$/.test(line.trim());

export function parseTables(output: string): PrintedTable[] {
  const lines = output.split('\n');
  const tables: PrintedTable[] = [];
  for (let i = 1; i < lines.length - 1; i++) {
    if (!lines[i]!.trim().startsWith('|') || !isSeparator(lines[i + 1]!) || lines[i - 1]!.trim().startsWith('|')) continue;
    const rows: string[][] = [];
    let j = i + 2;
    for (; j < lines.length && lines[j]!.trim().startsWith('|'); j++) rows.push(cellsOf(lines[j]!));
    tables.push({ title: lines[i - 1]!.trim(), header: cellsOf(lines[i]!), rows });
    i = j - 1;
  }
  return tables;
}

const NUMBER = /^(-?[\d,]*\.?\d+)(\s*(%|[a-zA-Z/µ]+))?$/;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function medianCell(values: Array<string | undefined>): string {
  const present = values.filter((v): v is string => v !== undefined && v !== '');
  if (present.length === 0) return '';
  const matches = present.map((v) => NUMBER.exec(v));
  const suffixes = new Set(matches.map((m) => m?.[2] ?? ''));
  if (matches.every((m) => m !== null) && suffixes.size === 1) {
    const numbers = matches.map((m) => Number(m![1]!.replace(/,/g, '')));
    const decimals = Math.max(...matches.map((m) => m![1]!.split('.')[1]?.length ?? 0));
    const value = median(numbers);
    const text = Math.abs(value) >= 1000 ? Math.round(value).toLocaleString('en-US') : value.toFixed(decimals);
    return `${text}${[...suffixes][0]}`;
  }
  if (new Set(present).size === 1) return present[0]!;
  return values.map((v) => v ?? '–').join(' / ');
}

/** A row's key: its first cell, numbered when the same first cell comes again (`raw #2`). */
function rowKeys(table: PrintedTable): string[] {
  const seen = new Map<string, number>();
  return table.rows.map((r) => {
    const n = (seen.get(r[0]!) ?? 0) + 1;
    seen.set(r[0]!, n);
    return n === 1 ? r[0]! : `${r[0]} #${n}`;
  });
}

/** Titles that differ only in their numbers (a load average, a count) name the same table. */
const titleKey = (title: string) => title.replace(/\d[\d,.]*/g, '#');

/**
 * One table per title found in any run (titles alike but for their numbers are one, shown as the first run
 * that printed it has it), its rows in the order they first appear, every cell the median of the runs that
 * have it (the other runs' cells are missing, shown `–` where values are listed).
 */
export function medianTables(runs: PrintedTable[][]): PrintedTable[] {
  const keys = [...new Set(runs.flatMap((tables) => tables.map((t) => titleKey(t.title))))];
  return keys.map((key) => {
    const per = runs.map((tables) => tables.find((t) => titleKey(t.title) === key));
    const { title, header } = per.find((t) => t)!;
    const keyed = per.map((t) => (t ? new Map(rowKeys(t).map((k, i) => [k, t.rows[i]!])) : new Map<string, string[]>()));
    const rowOrder = [...new Set(keyed.flatMap((m) => [...m.keys()]))];
    const rows = rowOrder.map((row) => header.map((_, c) => (c === 0 ? row : medianCell(keyed.map((m) => m.get(row)?.[c])))));
    return { title, header, rows };
  });
}

export function tableMarkdown(table: PrintedTable): string {
  const line = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(table.header), `|${table.header.map(() => '---').join('|')}|`, ...table.rows.map(line)].join('\n');
}
