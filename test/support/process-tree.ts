/** A process's descendants and whether a process is gone, read from Linux's /proc (no `ps` needed); the benchmarks use them too. */
import { readdirSync, readFileSync } from 'node:fs';
import { hasEnded, processArgv, processStat } from '../../cli/process-stat.ts';

/** The direct children of `pid`, whichever of its threads started them (Linux /proc); none once it is gone. */
export function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
      readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

/** Every process under `pid` (children, their children, ...), as they are now, each child before its own. */
export function descendants(pid: number): number[] {
  return childrenOf(pid).flatMap((child) => [child, ...descendants(child)]);
}

/** Exited, or a zombie (see hasEnded). */
export function processGone(pid: number): boolean {
  return hasEnded(processStat(pid));
}

/** The pids of `pids` still running after `timeoutMs` (empty when all went), polling /proc. */
export async function stillRunningAfter(pids: readonly number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = pids.filter((pid) => !processGone(pid));
    if (left.length === 0 || Date.now() >= deadline) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What a leftover process is, for a failure message. */
export function commandLine(pid: number): string {
  return processArgv(pid).join(' ') || '(gone)';
}

/** SIGKILL for what a test leaves behind; a process already gone is fine. */
export function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
