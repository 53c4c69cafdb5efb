/**
 * Every curve's machinery on its smallest inputs: real processes (sidecars, runtimes, gateways, asya dev,
 * the raw baselines) measure one or two points each, for a fraction of a second, and the runner writes the
 * table, the SVG and the PNG. What is checked is that every point was measured by every series, and that
 * the files are well-formed; nothing here is about how fast (the bench measures time; the suite never does).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { afterAll, describe, expect, it } from 'vitest';
import type { Curve } from './curve.ts';
import { CURVES } from './curves.ts';
import { rewriteCurve, runCurve } from './runner.ts';

const outDir = mkdtempSync(join(tmpdir(), 'asya-curves-test-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

/** The smallest inputs: two points each (a line), one for asya dev, whose start alone takes 20–40 s under load. */
const SMALLEST: Record<string, number[]> = {
  'payload-size': [64, 1024],
  'route-length': [1, 2],
  'fan-out': [1, 3],
  'sse-subscribers': [5, 10],
  'dev-actors': [2],
};

function checkFiles(curve: Curve, files: { markdown: string; svg: string; png: string; json: string }, points: number[]): void {
  const seriesCount = curve.panels.reduce((n, p) => n + p.series.length, 0);

  // The table: a header, its separator and one row a point, every row as wide as the header.
  const table = readFileSync(files.markdown, 'utf8').split('\n').filter((l) => l.startsWith('|'));
  const cells = (line: string) => line.slice(1, -1).split('|').map((c) => c.trim());
  const header = cells(table[0]!);
  expect(header).toHaveLength(1 + seriesCount + curve.ratios.length + 1);
  expect(cells(table[1]!).every((c) => c === '---')).toBe(true);
  expect(table.slice(2).map((l) => cells(l)[0])).toEqual(points.map((x) => curve.x.format(x)));
  for (const row of table.slice(2)) {
    expect(cells(row)).toHaveLength(header.length);
    // Every series has a number at every point ('–' would be a value the session did not give).
    expect(cells(row).slice(1, 1 + seriesCount).every((c) => /^[\d,]+(\.\d+)?$/.test(c)), row).toBe(true);
  }
  expect(readFileSync(files.markdown, 'utf8')).toContain(`![${curve.title}](${curve.name}.png)`);

  // The SVG: one line per series through every point, and resvg (an XML parser) accepts it.
  const svg = readFileSync(files.svg, 'utf8');
  const polylines = [...svg.matchAll(/<polyline [^>]*points="([^"]+)"/g)].map((m) => m[1]!.split(' '));
  expect(polylines).toHaveLength(seriesCount);
  for (const line of polylines) {
    expect(line).toHaveLength(points.length);
    for (const xy of line) expect(xy).toMatch(/^\d+(\.\d)?,\d+(\.\d)?$/);
  }
  const rendered = new Resvg(svg);
  expect(rendered.width).toBeGreaterThan(0);

  // The PNG: its signature and the SVG's size in its header.
  const png = readFileSync(files.png);
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(png.readUInt32BE(16)).toBe(rendered.width);
  expect(png.readUInt32BE(20)).toBe(rendered.height);

  const json = JSON.parse(readFileSync(files.json, 'utf8')) as { name: string; failures: unknown[]; points: Array<{ x: number; load: number[] }> };
  expect(json).toMatchObject({ name: curve.name, failures: [] });
  expect(json.points.map((p) => p.x)).toEqual(points);
  for (const p of json.points) expect(p.load).toHaveLength(3);
}

describe('bench/curves machinery', () => {
  it('has the smallest inputs of every curve', () => {
    expect(Object.keys(SMALLEST).sort()).toEqual(CURVES.map((c) => c.name).sort());
  });

  // The curves run side by side: each is mostly waiting on its own processes.
  for (const curve of CURVES) {
    it.concurrent(`${curve.name}: measures its smallest points and writes its table and plot`, { timeout: 150_000 }, async () => {
      const points = SMALLEST[curve.name]!;
      const log: string[] = [];
      const written = await runCurve(curve, { points, seconds: 0.3, outDir, log: (line) => log.push(line) });
      expect(written.failures, log.join('\n')).toEqual([]);
      expect(written.result.points.map((p) => p.x)).toEqual(points);
      for (const p of written.result.points) {
        for (const panel of curve.panels) for (const s of panel.series) expect(Number.isFinite(p.values[s.key]), `${s.key} at ${p.x}`).toBe(true);
      }
      checkFiles(curve, written.files, points);

      // --replot writes the same table and plot again from the JSON alone.
      const table = readFileSync(written.files.markdown, 'utf8');
      const svg = readFileSync(written.files.svg, 'utf8');
      rewriteCurve(curve, outDir, 99);
      expect(readFileSync(written.files.markdown, 'utf8')).toBe(table);
      expect(readFileSync(written.files.svg, 'utf8')).toBe(svg);
    });
  }
});
