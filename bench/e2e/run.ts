/**
 * bench/e2e: the whole pipeline a user runs (REST tool call → gateway on PostgreSQL → actor A → actor B →
 * happy-end, on RabbitMQ, defaults everywhere) against a raw pipeline in the same run (INSERT + publish,
 * two raw consume → publish hops, a consumer that UPDATEs), stepped in rate until p99 > 1 s or a backlog
 * is left. Prints the steps, the held rates and their ratio, and per-envelope database row writes, HTTP
 * requests and broker messages; writes every number to a JSON file. See docs/performance.md.
 *
 *   npx tsx bench/e2e/run.ts [--quick] [--transport rabbitmq|sqs|memory] [--rates 10,20,40] [--seconds 60] [--p99-ms 1000] [--drain-ms 2000] [--raw-queues quorum|classic]
 *                            [--settle-ms 60000] [--payload-bytes 1024] [--warmup 20] [--warmup-seconds 0] [--out file.json]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { RABBITMQ_URL } from '../../test/support/rabbitmq.ts';
import { REPO_ROOT } from '../../test/support/runtime-process.ts';
import { printTable } from '../support.ts';
import { E2E_LEGS, runE2e, type E2eLeg } from './bench.ts';
import { RAW_QUEUE_TYPES, type RawQueueType } from './raw-pipeline.ts';
import { formatReport } from './report.ts';

const DEFAULT_RATES = '10,20,40,60,80,100,120,160,200,250,300,400,500';
const QUICK = { rates: '5,10', seconds: '5', warmup: '5' };

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    transport: { type: 'string', default: 'rabbitmq' },
    rates: { type: 'string' },
    seconds: { type: 'string' },
    'p99-ms': { type: 'string', default: '1000' },
    'drain-ms': { type: 'string', default: '2000' },
    'settle-ms': { type: 'string', default: '60000' },
    'payload-bytes': { type: 'string', default: '1024' },
    warmup: { type: 'string' },
    'warmup-seconds': { type: 'string' },
    'raw-queues': { type: 'string', default: 'quorum' },
    'skip-analyze': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const transport = values.transport as E2eLeg;
if (!(E2E_LEGS as readonly string[]).includes(transport)) {
  process.stderr.write(`--transport must be one of ${E2E_LEGS.join(', ')}; got "${values.transport}"\n`);
  process.exit(2);
}
const rawQueueType = values['raw-queues'] as RawQueueType;
if (!(RAW_QUEUE_TYPES as readonly string[]).includes(rawQueueType)) {
  process.stderr.write(`--raw-queues must be one of ${RAW_QUEUE_TYPES.join(', ')}; got "${values['raw-queues']}"\n`);
  process.exit(2);
}
const number = (flag: string, text: string): number => {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) {
    process.stderr.write(`--${flag} must be a positive number, got "${text}"\n`);
    process.exit(2);
  }
  return n;
};
const rates = (values.rates ?? (values.quick ? QUICK.rates : DEFAULT_RATES)).split(',').map((r) => number('rates', r.trim()));
// Ctrl-C ends the run, but lets it stop the pipelines and drop their queues and schemas first.
const interrupted = new AbortController();
// `on`, not `once`: Ctrl-C reaches this process twice (from the terminal and relayed by tsx), and a second
// SIGINT without a handler would end it before the clean-up.
process.on('SIGINT', () => {
  if (interrupted.signal.aborted) return;
  process.stderr.write('interrupted: stopping the pipelines ...\n');
  interrupted.abort(new Error('interrupted'));
});
const options = {
  rabbitmqUrl: process.env.ASYA_BENCH_RABBITMQ_URL ?? RABBITMQ_URL,
  transport,
  rates,
  seconds: number('seconds', values.seconds ?? (values.quick ? QUICK.seconds : '60')),
  p99LimitMs: number('p99-ms', values['p99-ms']!),
  drainLimitMs: number('drain-ms', values['drain-ms']!),
  settleMs: number('settle-ms', values['settle-ms']!),
  payloadBytes: number('payload-bytes', values['payload-bytes']!),
  rawQueueType,
  warmupCalls: Math.round(number('warmup', values.warmup ?? (values.quick ? QUICK.warmup : '20'))),
  warmupSeconds: values['warmup-seconds'] === undefined ? 0 : number('warmup-seconds', values['warmup-seconds']),
  skipAnalyze: values['skip-analyze'],
  settleStatistics: true,
  log: (line: string) => process.stderr.write(`${line}\n`),
  signal: interrupted.signal,
};

const report = await runE2e(options).catch((err: unknown) => {
  if (!interrupted.signal.aborted) throw err;
  process.exit(130);
});
for (const table of formatReport(report)) printTable(table.title, table.rows);
const out = values.out ?? join(REPO_ROOT, 'bench/results', `e2e-${transport}-${report.startedAt.replace(/[:.]/g, '-')}.json`);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
console.log(`\nraw numbers: ${out}`);
