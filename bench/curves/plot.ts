/**
 * A curve's plot: one panel per declared panel, side by side, each with a line per series over the curve's
 * points, drawn as SVG here and rasterised to PNG by resvg. The x ticks are the measured points themselves,
 * so the plot never suggests a measurement that was not made.
 */
import { Resvg } from '@resvg/resvg-js';
import type { CurveResult, Panel } from './curve.ts';

const PANEL_WIDTH = 460;
const PANEL_HEIGHT = 330;
const HEADER = 64;
const MARGIN = { left: 64, right: 16, top: 46, bottom: 48 };
const COLORS = ['#d9480f', '#1c7ed6', '#2b8a3e', '#7048e8'];

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** 1234 → "1.2k", 0.5 → "0.5": short tick labels. */
function shortNumber(v: number): string {
  const abs = Math.abs(v);
  if (abs >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (abs >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  if (abs >= 10 || v === 0) return String(Math.round(v));
  return String(+v.toPrecision(2));
}

interface Axis {
  at(v: number): number;
  ticks: number[];
}

function linearTicks(max: number): number[] {
  if (!(max > 0)) return [0, 1];
  const step0 = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= step0)!;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 0.999; v += step) ticks.push(+v.toPrecision(12));
  return ticks;
}

function yAxis(values: number[], log: boolean, top: number, bottom: number): Axis {
  if (log) {
    const positive = values.filter((v) => v > 0);
    const lo = Math.floor(Math.log10(positive.length ? Math.min(...positive) : 1));
    const hi = Math.max(lo + 1, Math.ceil(Math.log10(positive.length ? Math.max(...positive) : 10)));
    const ticks = Array.from({ length: hi - lo + 1 }, (_, i) => 10 ** (lo + i));
    return { ticks, at: (v) => bottom - ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo)) * (bottom - top) };
  }
  const ticks = linearTicks(Math.max(0, ...values));
  const max = ticks[ticks.length - 1]!;
  return { ticks, at: (v) => bottom - (v / max) * (bottom - top) };
}

function xAxis(xs: number[], log: boolean, left: number, right: number): (x: number) => number {
  const f = log ? Math.log10 : (x: number) => x;
  const lo = f(Math.min(...xs));
  const hi = f(Math.max(...xs));
  const span = hi - lo || 1;
  const pad = (right - left) * 0.04;
  return (x) => left + pad + ((f(x) - lo) / span) * (right - left - 2 * pad);
}

function panelSvg(result: CurveResult, panel: Panel, offsetX: number, offsetY: number): string {
  const { curve, points } = result;
  const left = offsetX + MARGIN.left;
  const right = offsetX + PANEL_WIDTH - MARGIN.right;
  const top = offsetY + MARGIN.top;
  const bottom = offsetY + PANEL_HEIGHT - MARGIN.bottom;
  const xs = points.map((p) => p.x);
  const finite = points.flatMap((p) => panel.series.map((s) => p.values[s.key]).filter((v): v is number => v !== undefined && Number.isFinite(v)));
  const y = yAxis(finite, panel.logY ?? false, top, bottom);
  const x = xAxis(xs, curve.x.log, left, right);
  const out: string[] = [];
  out.push(`<text x="${offsetX + PANEL_WIDTH / 2}" y="${offsetY + 18}" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(`${panel.title} (${panel.unit})`)}</text>`);
  for (const t of y.ticks) {
    const py = y.at(t).toFixed(1);
    out.push(`<line x1="${left}" x2="${right}" y1="${py}" y2="${py}" stroke="#e9ecef"/>`);
    out.push(`<text x="${left - 6}" y="${py}" text-anchor="end" dominant-baseline="middle" font-size="11">${shortNumber(t)}</text>`);
  }
  // Every point gets its tick; a label that would overlap the last one drawn is left out.
  let labelEnd = Number.NEGATIVE_INFINITY;
  for (const v of xs) {
    const px = x(v);
    const label = curve.x.format(v);
    const half = (label.length * 6.5) / 2;
    out.push(`<line x1="${px.toFixed(1)}" x2="${px.toFixed(1)}" y1="${bottom}" y2="${bottom + 4}" stroke="#495057"/>`);
    if (px - half < labelEnd + 4) continue;
    out.push(`<text x="${px.toFixed(1)}" y="${bottom + 17}" text-anchor="middle" font-size="11">${escapeXml(label)}</text>`);
    labelEnd = px + half;
  }
  out.push(`<line x1="${left}" x2="${right}" y1="${bottom}" y2="${bottom}" stroke="#495057"/>`);
  out.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${bottom}" stroke="#495057"/>`);
  out.push(`<text x="${(left + right) / 2}" y="${bottom + 38}" text-anchor="middle" font-size="12">${escapeXml(curve.x.label)}</text>`);
  let legendX = left + 8;
  panel.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const at = points.filter((p) => p.values[s.key] !== undefined && Number.isFinite(p.values[s.key])).map((p) => [x(p.x), y.at(p.values[s.key]!)] as const);
    if (at.length > 0) out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${at.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(' ')}"/>`);
    for (const [a, b] of at) out.push(`<circle cx="${a.toFixed(1)}" cy="${b.toFixed(1)}" r="3.5" fill="${color}"/>`);
    const ly = offsetY + 34;
    const lx = legendX;
    legendX += 32 + s.label.length * 6.5;
    out.push(`<rect x="${lx}" y="${ly - 5}" width="14" height="4" fill="${color}"/>`);
    out.push(`<text x="${lx + 18}" y="${ly}" dominant-baseline="middle" font-size="11">${escapeXml(s.label)}</text>`);
  });
  return out.join('\n');
}

/** The plot as SVG text: the curve's title, the run's date and load, then its panels. */
export function curveSvg(result: CurveResult): string {
  const { curve, points } = result;
  // Up to three panels in a row; four as two rows of two, so the plot stays readable in a page.
  const columns = curve.panels.length <= 3 ? curve.panels.length : 2;
  const width = PANEL_WIDTH * columns;
  const height = HEADER + PANEL_HEIGHT * Math.ceil(curve.panels.length / columns);
  const loads = points.map((p) => p.load[0]!);
  const subtitle = `${result.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${result.machine.cores} cores, load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} (shared machine)`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="16" y="26" font-size="17" font-weight="bold">${escapeXml(curve.title)}</text>`,
    `<text x="16" y="48" font-size="12" fill="#495057">${escapeXml(subtitle)}</text>`,
    ...curve.panels.map((panel, i) => panelSvg(result, panel, (i % columns) * PANEL_WIDTH, HEADER + Math.floor(i / columns) * PANEL_HEIGHT)),
    '</svg>',
    '',
  ].join('\n');
}

export function svgToPng(svg: string): Buffer {
  return new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' }, background: '#ffffff' }).render().asPng();
}
