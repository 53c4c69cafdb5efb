/**
 * `make bench`: every bench, `--runs` times (default 3), the runs interleaved (run 1 of every bench, then
 * run 2, ...) so a burst of load on this shared machine falls on one run of each, not on all runs of one.
 * The load average is recorded before and after each bench's run. Each run's output is kept in its own
 * log; the tables it printed are read back and folded into their medians (median-tables.ts) in summary.md.
 * Progress goes to stderr as it happens: each bench's own progress lines, prefixed with the run and bench.
 *
 *   npx tsx bench/all.ts [--quick] [--runs 3] [--only hop,e2e-rabbitmq,...] [--out dir]
 *   make bench BENCH_ARGS="--quick --runs 1"
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../test/support/runtime-process.ts';
import { medianTables, parseTables, tableMarkdown, type PrintedTable } from './median-tables.ts';

interface Bench {
  readonly name: string;
  readonly script: string;
  /** Arguments of a full run and of a --quick one; `runDir` is where this run may write files. */
  args(quick: boolean, runDir: string): string[];
}

const e2e = (transport: string): Bench => ({
  name: `e2e-${transport}`,
  script: 'bench/e2e/run.ts',
  args: (quick, runDir) => [...(quick ? ['--quick'] : []), '--transport', transport, '--out', join(runDir, `e2e-${transport}.json`)],
});

const BENCHES: readonly Bench[] = [
  { name: 'runtime', script: 'bench/runtime/run.ts', args: (quick) => (quick ? ['1'] : []) },
  { name: 'hop', script: 'bench/hop/run.ts', args: (quick) => (quick ? ['300', '2'] : []) },
  { name: 'payloads', script: 'bench/payloads/run.ts', args: (quick) => (quick ? ['0.1'] : []) },
  { name: 'gateway', script: 'bench/gateway/run.ts', args: (quick) => (quick ? ['300', '2', '100', '8'] : []) },
  { name: 'gateway-finals', script: 'bench/gateway/finals.ts', args: (quick) => (quick ? ['300', '16', '1'] : []) },
  { name: 'gateway-stream-open', script: 'bench/gateway/stream-open.ts', args: (quick) => (quick ? ['300', '1'] : []) },
  { name: 'krm', script: 'bench/krm/run.ts', args: (quick) => (quick ? ['100', '1'] : []) },
  { name: 'cold-start', script: 'bench/cold-start/run.ts', args: (quick) => (quick ? ['3'] : []) },
  { name: 'memory', script: 'bench/memory/run.ts', args: (quick) => (quick ? ['500', '200', '300'] : []) },
  e2e('rabbitmq'),
  e2e('sqs'),
  e2e('memory'),
  { name: 'curves', script: 'bench/curves/run.ts', args: (quick, runDir) => [...(quick ? ['--quick'] : []), '--out', join(runDir, 'curves')] },
];

interface RunRecord {
  bench: string;
  run: number;
  exitCode: number | null;
  seconds: number;
  loadBefore: number[];
  loadAfter: number[];
  tables: PrintedTable[];
}

const stamp = () => new Date().toISOString().slice(11, 19);
const say = (line: string) => process.stderr.write(`${stamp()} ${line}\n`);
const loadText = (l: readonly number[]) => l.map((v) => v.toFixed(1)).join(', ');

/** Runs one bench under tsx; its stdout goes to `logFile` and is returned, its stderr is relayed with `prefix`. */
function runBench(bench: Bench, args: string[], logFile: string, prefix: string): Promise<{ exitCode: number | null; stdout: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, bench.script), ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  createInterface({ input: child.stderr }).on('line', (line) => process.stderr.write(`${prefix} ${line}\n`));
  return new Promise((resolve) =>
    child.once('close', (exitCode) => {
      writeFileSync(logFile, stdout);
      resolve({ exitCode, stdout });
    }),
  );
}

function summaryMarkdown(records: RunRecord[], runs: number, quick: boolean): string {
  const lines = [
    `# Benchmarks: ${runs} run(s)${quick ? ', --quick' : ''}, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `${cpus().length} cores, Node ${process.version}. The machine is shared: read each figure beside the load average of its runs.`,
    '',
    '## Runs and the machine\'s load',
    '',
    '| bench | run | exit | seconds | load average before (1, 5, 15 min) | after |',
    '|---|---|---|---|---|---|',
    ...records.map((r) => `| ${r.bench} | ${r.run} | ${r.exitCode} | ${Math.round(r.seconds)} | ${loadText(r.loadBefore)} | ${loadText(r.loadAfter)} |`),
    '',
  ];
  for (const bench of [...new Set(records.map((r) => r.bench))]) {
    const mine = records.filter((r) => r.bench === bench);
    lines.push(`## ${bench}: medians of ${mine.length} run(s), load average ${mine.map((r) => r.loadBefore[0]!.toFixed(1)).join(', ')} at their starts`, '');
    const tables = medianTables(mine.map((r) => r.tables));
    if (tables.length === 0) lines.push('(no table printed)', '');
    for (const table of tables) lines.push(`### ${table.title}`, '', tableMarkdown(table), '');
  }
  return lines.join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      runs: { type: 'string', default: '3' },
      only: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) {
    process.stderr.write(`--runs must be a whole number of at least 1, got "${values.runs}"\n`);
    return 2;
  }
  const only = values.only?.split(',').map((s) => s.trim());
  const unknown = only?.filter((n) => !BENCHES.some((b) => b.name === n)) ?? [];
  if (unknown.length > 0) {
    process.stderr.write(`--only: no bench ${unknown.join(', ')}; the benches are ${BENCHES.map((b) => b.name).join(', ')}\n`);
    return 2;
  }
  const benches = BENCHES.filter((b) => !only || only.includes(b.name));
  const out = values.out ?? join(REPO_ROOT, 'bench/results', `all-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const records: RunRecord[] = [];
  const total = runs * benches.length;
  for (let run = 1; run <= runs; run++) {
    const runDir = join(out, `run-${run}`);
    mkdirSync(runDir, { recursive: true });
    for (const bench of benches) {
      const prefix = `[${records.length + 1}/${total} ${bench.name} run ${run}]`;
      const loadBefore = loadavg();
      say(`${prefix} starting (load average ${loadText(loadBefore)})`);
      const started = performance.now();
      const { exitCode, stdout } = await runBench(bench, bench.args(values.quick!, runDir), join(runDir, `${bench.name}.log`), prefix);
      const record: RunRecord = { bench: bench.name, run, exitCode, seconds: (performance.now() - started) / 1000, loadBefore, loadAfter: loadavg(), tables: parseTables(stdout) };
      records.push(record);
      say(`${prefix} ${exitCode === 0 ? 'done' : `FAILED (exit ${exitCode})`} in ${Math.round(record.seconds)} s, ${record.tables.length} table(s) (load average ${loadText(record.loadAfter)})`);
      // Written after every bench, so an interrupted run keeps what it measured.
      writeFileSync(join(out, 'summary.md'), summaryMarkdown(records, runs, values.quick!));
    }
  }
  const failed = records.filter((r) => r.exitCode !== 0);
  say(`summary: ${join(out, 'summary.md')}${failed.length ? `; failed: ${failed.map((r) => `${r.bench} run ${r.run}`).join(', ')}` : ''}`);
  return failed.length ? 1 : 0;
}

process.exitCode = await main();
