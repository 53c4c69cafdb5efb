/** Reading the benches' printed tables back and folding several runs into medians (bench/all.ts's summary). */
import { describe, expect, it, vi } from 'vitest';
import { medianTables, parseTables, tableMarkdown } from './median-tables.ts';
import { printTable } from './support.ts';

/** What a bench prints: progress lines and tables through printTable, as bench/all.ts reads them from stdout. */
function printed(rows: Array<Record<string, string | number>>, extra: Array<Record<string, string | number>> = []): string {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
  try {
    console.log('tracing on, concurrency 1: sidecar CPU per hop 1.0 → 1.5 ms');
    printTable('One hop (3000 messages)', rows);
    console.log('gateway RSS after the calls: 90 MiB');
    if (extra.length) printTable('Peak RSS', extra);
  } finally {
    spy.mockRestore();
  }
  return lines.join('\n');
}

describe('median tables', () => {
  it('reads back every table printTable printed, with its title, header and rows', () => {
    const tables = parseTables(printed([{ case: 'raw amqplib', 'msg/s': 830, 'vs raw': '100%' }, { case: 'sidecar', 'msg/s': 591.25, 'vs raw': '71%' }], [{ process: 'gateway', MiB: 118 }]));
    expect(tables).toEqual([
      { title: 'One hop (3000 messages)', header: ['case', 'msg/s', 'vs raw'], rows: [['raw amqplib', '830', '100%'], ['sidecar', '591.25', '71%']] },
      { title: 'Peak RSS', header: ['process', 'MiB'], rows: [['gateway', '118']] },
    ]);
  });

  it('takes the median of numbers (percentages, separators, units), lists what is not a number, and keeps rows some runs lack', () => {
    const runs = [
      printed([{ case: 'raw', 'msg/s': '1,200', 'vs raw': '100%', note: 'a', cpu: '0.57, 0.27', p99: '3 ms' }, { case: 'raw', 'msg/s': 10, 'vs raw': '1%', note: 'x', cpu: '1', p99: '1 ms' }]),
      printed([{ case: 'raw', 'msg/s': '900', 'vs raw': '100%', note: 'a', cpu: '0.61, 0.30', p99: '5 ms' }, { case: 'raw', 'msg/s': 30, 'vs raw': '3%', note: 'x', cpu: '2', p99: '2 ms' }], [{ process: 'gateway', MiB: 120 }]),
      printed([{ case: 'raw', 'msg/s': '1,500', 'vs raw': '100%', note: 'a', cpu: '0.50, 0.20', p99: '4 ms' }, { case: 'raw', 'msg/s': 20, 'vs raw': '2%', note: 'y', cpu: '3', p99: '9 ms' }]),
    ].map(parseTables);
    const [hop, rss] = medianTables(runs);
    expect(hop!.rows).toEqual([
      ['raw', '1,200', '100%', 'a', '0.57, 0.27 / 0.61, 0.30 / 0.50, 0.20', '4 ms'],
      ['raw #2', '20', '2%', 'x / x / y', '2', '2 ms'],
    ]);
    // Only the second run printed it: its one value is the median, and the table is still there.
    expect(rss).toEqual({ title: 'Peak RSS', header: ['process', 'MiB'], rows: [['gateway', '120']] });
    expect(tableMarkdown(rss!)).toBe('| process | MiB |\n|---|---|\n| gateway | 120 |');
  });

  it('keeps a pipe inside a cell, and folds tables whose titles differ only in their numbers', () => {
    const run = (load: string, ms: number) => {
      const lines: string[] = [];
      const spy = vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
      printTable(`bench/krm: 100 actors (load average ${load} before)`, [{ what: 'cat list | inject-sidecar | keda-scaler', 'median ms': ms }]);
      spy.mockRestore();
      return parseTables(lines.join('\n'));
    };
    const [krm, ...others] = medianTables([run('21.6', 1280), run('18.5', 2220), run('9', 1000)]);
    expect(others).toEqual([]);
    expect(krm).toEqual({ title: 'bench/krm: 100 actors (load average 21.6 before)', header: ['what', 'median ms'], rows: [['cat list | inject-sidecar | keda-scaler', '1,280']] });
    expect(parseTables(`${krm!.title}\n${tableMarkdown(krm!)}`)).toEqual([krm]);
  });

  it('finds no table in output that has none', () => {
    expect(parseTables('starting ...\n| not a table\ndone\n')).toEqual([]);
    expect(medianTables([[], []])).toEqual([]);
  });
});
