/**
 * Measures a curve point by point and writes what it found: `<name>.md` (the table, with the machine's load
 * at every point), `<name>.svg` and `<name>.png` (the plot) and `<name>.json` (every number), into one
 * folder. A point that fails is logged and left out; the curve goes on with the next.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { printTable } from '../support.ts';
import type { Curve, CurvePoint, CurveResult, CurveSession } from './curve.ts';
import { curveSvg, svgToPng } from './plot.ts';

export interface RunOptions {
  readonly points: readonly number[];
  readonly seconds: number;
  readonly outDir: string;
  readonly log: (line: string) => void;
}

export interface WrittenCurve {
  readonly result: CurveResult;
  readonly files: { readonly markdown: string; readonly svg: string; readonly png: string; readonly json: string };
  /** The points that could not be measured, with why. */
  readonly failures: ReadonlyArray<{ x: number; error: string }>;
}

function cell(v: number | undefined): string {
  if (v === undefined || Number.isNaN(v)) return '–';
  if (!Number.isFinite(v)) return '∞';
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** 0.48 → "48%", 60.4 → "60×": past twice, a multiple reads better than a percentage. */
function ratioText(r: number): string {
  return r < 2 ? `${Math.round(r * 100)}%` : `${r < 10 ? r.toFixed(1) : Math.round(r)}×`;
}

/** The curve's table: one row a point, a column per series of every panel, its ratios and the load. */
export function tableRows(result: CurveResult): Array<Record<string, string>> {
  const { curve } = result;
  return result.points.map((p) => {
    const row: Record<string, string> = { [curve.x.label]: curve.x.format(p.x) };
    for (const panel of curve.panels) for (const s of panel.series) row[`${s.label} ${panel.title} (${panel.unit})`] = cell(p.values[s.key]);
    for (const r of curve.ratios) {
      const of = p.values[r.of];
      const to = p.values[r.to];
      row[r.label] = of === undefined || to === undefined || !(to > 0) ? '–' : ratioText(of / to);
    }
    row['load average (1, 5, 15 min)'] = p.load.map((l) => l.toFixed(1)).join(', ');
    return row;
  });
}

export function curveMarkdown(result: CurveResult): string {
  const rows = tableRows(result);
  const keys = Object.keys(rows[0] ?? {});
  const loads = result.points.map((p) => p.load[0]!);
  const lines = [
    `### ${result.curve.title}`,
    '',
    result.curve.method,
    '',
    `Measured ${result.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${result.seconds} s per side and point, on ${result.machine.cores} cores (Node ${result.machine.node}), load average ` +
      `${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} over the points: the machine is shared with other work, so read the ratios and the shape, not the absolute rates.`,
    '',
    `| ${keys.join(' | ')} |`,
    `|${keys.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${keys.map((k) => r[k]).join(' | ')} |`),
    '',
    `![${result.curve.title}](${result.curve.name}.png)`,
    '',
  ];
  return lines.join('\n');
}

async function measurePoints(curve: Curve, options: RunOptions, points: CurvePoint[], failures: Array<{ x: number; error: string }>): Promise<void> {
  let session: CurveSession;
  try {
    session = await curve.open({ points: options.points, seconds: options.seconds, log: options.log });
  } catch (err) {
    const error = `could not start: ${err instanceof Error ? err.message : String(err)}`;
    for (const x of options.points) failures.push({ x, error });
    options.log(`${curve.name}: ${error}`);
    return;
  }
  try {
    for (const x of options.points) {
      options.log(`${curve.name}: ${curve.x.label} ${curve.x.format(x)} ...`);
      try {
        const values = await session.measure(x);
        points.push({ x, values, load: loadavg() });
        options.log(`${curve.name}:   ${Object.entries(values).map(([k, v]) => `${k} ${cell(v)}`).join(', ')}; load ${loadavg()[0]!.toFixed(1)}`);
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        failures.push({ x, error });
        options.log(`${curve.name}:   failed at ${curve.x.format(x)}: ${error}`);
      }
    }
  } finally {
    await session.close();
  }
}

/** The files of a measured curve: the plot (SVG, PNG) and table when it has points, and its numbers (JSON). */
export function writeCurve(result: CurveResult, outDir: string, failures: ReadonlyArray<{ x: number; error: string }>): WrittenCurve['files'] {
  const { curve } = result;
  mkdirSync(outDir, { recursive: true });
  const files = {
    markdown: join(outDir, `${curve.name}.md`),
    svg: join(outDir, `${curve.name}.svg`),
    png: join(outDir, `${curve.name}.png`),
    json: join(outDir, `${curve.name}.json`),
  };
  if (result.points.length > 0) {
    const svg = curveSvg(result);
    writeFileSync(files.svg, svg);
    writeFileSync(files.png, svgToPng(svg));
    writeFileSync(files.markdown, curveMarkdown(result));
    printTable(curve.title, tableRows(result));
  }
  const { curve: _curve, ...numbers } = result;
  writeFileSync(files.json, `${JSON.stringify({ name: curve.name, ...numbers, failures }, null, 2)}\n`);
  return files;
}

/**
 * A curve written again from the numbers of an earlier run (`<name>.json` in `outDir`), after a change to
 * the plot or the table: nothing is measured. `seconds` stands in for a JSON written before it recorded it.
 */
export function rewriteCurve(curve: Curve, outDir: string, seconds: number): WrittenCurve {
  const saved = JSON.parse(readFileSync(join(outDir, `${curve.name}.json`), 'utf8')) as Omit<CurveResult, 'curve' | 'seconds'> & {
    seconds?: number;
    failures: Array<{ x: number; error: string }>;
  };
  // JSON has no infinity: a value written as null was one.
  const points = saved.points.map((p) => ({ ...p, values: Object.fromEntries(Object.entries(p.values).map(([k, v]) => [k, v ?? Number.POSITIVE_INFINITY])) }));
  const result: CurveResult = { curve, startedAt: saved.startedAt, machine: saved.machine, seconds: saved.seconds ?? seconds, points };
  return { result, files: writeCurve(result, outDir, saved.failures), failures: saved.failures };
}

export async function runCurve(curve: Curve, options: RunOptions): Promise<WrittenCurve> {
  const startedAt = new Date().toISOString();
  const points: CurvePoint[] = [];
  const failures: Array<{ x: number; error: string }> = [];
  options.log(`${curve.name}: starting (${options.points.map((x) => curve.x.format(x)).join(', ')}) ...`);
  await measurePoints(curve, options, points, failures);
  const result: CurveResult = { curve, startedAt, machine: { cores: cpus().length, node: process.version }, seconds: options.seconds, points };
  return { result, files: writeCurve(result, options.outDir, failures), failures };
}
