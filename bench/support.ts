/** Small helpers shared by the benchmarks: percentiles, RSS, and printing a result table. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Channel } from 'amqplib';

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** The middle of the values (the upper of the two middles for an even count; NaN for none): a bench's rounds summed up. */
export function median(values: number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

/** Runs `work` on each item, `concurrency` at a time, each worker taking the next item when it is done. */
export async function eachConcurrently<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** Resident set size of another process, in MiB (Linux /proc). */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

/** The process's peak resident set so far (VmHWM), in MiB; NaN once it is gone. */
export function peakRssMiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN) / 1024;
  } catch {
    return Number.NaN;
  }
}

/**
 * Starts the process's peak resident set over from its current one (Linux: `5` to /proc/<pid>/clear_refs),
 * so the next peakRssMiB() is the peak since now. False where the kernel refuses it.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

export function printTable(title: string, rows: Array<Record<string, string | number>>): void {
  console.log(`\n${title}`);
  if (rows.length === 0) return;
  const keys = Object.keys(rows[0]!);
  // A `|` inside a cell is escaped, as markdown has it, so the table reads back cell by cell (bench/median-tables.ts).
  const cell = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : v.replace(/\|/g, '\\|'));
  const widths = keys.map((k) => Math.max(k.length, ...rows.map((r) => cell(r[k] ?? '').length)));
  const line = (vals: string[]) => `| ${vals.map((v, i) => v.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(keys));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(keys.map((k) => cell(r[k] ?? ''))));
}

/** User + system CPU time a process has used so far, in milliseconds (Linux /proc, 100 ticks/s). */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * CPU milliseconds used so far by every process of this machine whose command is one of `commands`, by
 * command (PostgreSQL's backends, RabbitMQ's beam.smp): the servers' share of a step. A process that exits
 * between two readings takes its time with it, so this undercounts short-lived ones (a pool's backends live long).
 */
export function cpuMsByCommand(commands: readonly string[]): Record<string, number> {
  const total = Object.fromEntries(commands.map((c) => [c, 0]));
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      if (comm in total) total[comm]! += cpuMs(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** The benchmarks' OTLP/HTTP receiver (bench/otlp-counter.mjs), a process of its own: the spans it was sent, counted. */
export async function countingOtlpReceiver(): Promise<{ url: string; spans(): Promise<number>; close(): void }> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./otlp-counter.mjs', import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  const url = `http://127.0.0.1:${line.toString('utf8').trim()}`;
  return { url, spans: async () => Number(await (await fetch(`${url}/count`)).text()), close: () => void child.kill('SIGTERM') };
}

/** An actor's queue as the sidecar would find it (durable, bound on the `asya` exchange), emptied of earlier runs. */
export async function freshActorQueue(channel: Channel, actor: string): Promise<string> {
  const queue = `asya-${actor}`;
  // As the sidecar declares it: on a broker no sidecar has used yet, binding to it would fail.
  await channel.assertExchange('asya', 'topic', { durable: true });
  await channel.assertQueue(queue, { durable: true });
  await channel.bindQueue(queue, 'asya', actor);
  await channel.purgeQueue(queue);
  return queue;
}
