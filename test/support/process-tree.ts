/** A process's descendants and whether a process is gone, read from Linux's /proc (no `ps` needed); the benchmarks use them too. */
import { readdirSync, readFileSync } from 'node:fs';

interface Stat {
  state: string;
  ppid: number;
}

function stat(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name in parentheses may hold spaces and parentheses itself: the fields follow the last ')'.
    const [state, ppid] = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: state!, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

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

/**
 * Exited, or a zombie: an orphan is re-parented to pid 1, which in a container may never reap it, and a zombie
 * runs nothing (process.kill(pid, 0) would still call it alive).
 */
export function processGone(pid: number): boolean {
  const s = stat(pid);
  return s === undefined || s.state === 'Z' || s.state === 'X';
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
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '(gone)';
  }
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
