/**
 * bench/curves: how cost grows. Each curve measures Asya and its raw baseline at every point in the same
 * run and writes its table (markdown), plot (SVG and PNG) and numbers (JSON); see docs/performance.md.
 *
 *   npx tsx bench/curves/run.ts [--quick] [--only payload-size,route-length,...] [--seconds 10] [--out dir] [--replot]
 *
 * --replot measures nothing: it writes the tables and plots again from the JSON an earlier run left in --out.
 * --quick measures fewer points for less time each; --out defaults to bench/results/curves (the committed
 * plots are in docs/performance/, written with --out docs/performance).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../../test/support/runtime-process.ts';
import { CURVES } from './curves.ts';
import { rewriteCurve, runCurve } from './runner.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    seconds: { type: 'string' },
    out: { type: 'string' },
    replot: { type: 'boolean', default: false },
  },
});
const names = CURVES.map((c) => c.name);
const only = values.only?.split(',').map((n) => n.trim());
const unknown = only?.filter((n) => !names.includes(n)) ?? [];
if (unknown.length > 0) {
  process.stderr.write(`--only: no curve ${unknown.join(', ')}; the curves are ${names.join(', ')}\n`);
  process.exit(2);
}
const seconds = Number(values.seconds ?? (values.quick ? 3 : 10));
if (!(seconds > 0)) {
  process.stderr.write(`--seconds must be a positive number, got "${values.seconds}"\n`);
  process.exit(2);
}
const outDir = values.out ?? join(REPO_ROOT, 'bench/results/curves');
const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
let failed = 0;
for (const curve of CURVES.filter((c) => !only || only.includes(c.name))) {
  const written = values.replot
    ? rewriteCurve(curve, outDir, seconds)
    : await runCurve(curve, { points: values.quick ? curve.points.quick : curve.points.full, seconds, outDir, log });
  failed += written.failures.length;
  console.log(written.result.points.length > 0 ? `\n${curve.name}: ${written.files.markdown}, ${written.files.png}` : `\n${curve.name}: no point measured`);
}
if (failed > 0) {
  process.stderr.write(`${failed} point(s) could not be measured (see above)\n`);
  process.exitCode = 1;
}
