/**
 * Prints line and branch coverage per component folder from vitest's coverage/coverage-summary.json
 * (`make coverage` runs it after the suite). Usage: node --import tsx test/runner/coverage-by-folder.ts [summary.json]
 */
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { COMPONENTS } from '../../vitest.config.ts';

interface Metric {
  total: number;
  covered: number;
}
type Summary = Record<string, { lines: Metric; branches: Metric }>;

const root = resolve(import.meta.dirname, '../..');
const summary = JSON.parse(readFileSync(process.argv[2] ?? resolve(root, 'coverage/coverage-summary.json'), 'utf8')) as Summary;

const folders = new Map(COMPONENTS.map((folder) => [folder, { lines: { total: 0, covered: 0 }, branches: { total: 0, covered: 0 }, files: 0 }]));
for (const [file, metrics] of Object.entries(summary)) {
  if (file === 'total') continue;
  const folder = folders.get(relative(root, file).split('/')[0]!);
  if (!folder) continue;
  folder.files += 1;
  for (const key of ['lines', 'branches'] as const) {
    folder[key].total += metrics[key].total;
    folder[key].covered += metrics[key].covered;
  }
}

const percent = (m: Metric) => (m.total === 0 ? '-' : `${((100 * m.covered) / m.total).toFixed(1)}%`);
const rows = [['folder', 'files', 'lines', 'branches'], ...[...folders].map(([name, f]) => [name, String(f.files), percent(f.lines), percent(f.branches)])];
rows.push(['all', String([...folders.values()].reduce((n, f) => n + f.files, 0)), percent(summary.total!.lines), percent(summary.total!.branches)]);
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const row of rows) console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
