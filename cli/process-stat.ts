/** A process as Linux shows it in /proc/<pid>/stat: what asya reads of its ancestors, and tests of their children. */
import { readFileSync } from 'node:fs';

export interface ProcessStat {
  /** R, S, ...; Z: it has ended, and its parent has not yet read its exit status. */
  state: string;
  parent: number;
  /** Clock ticks after boot: tells a process from a later one that was given the same pid. */
  startedAt: string;
}

/** Undefined once the process is gone, or where there is no /proc. */
export function processStat(pid: number): ProcessStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name, in parentheses, may hold spaces and parentheses itself: fields count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, parent: Number(fields[1]), startedAt: fields[19]! };
  } catch {
    return undefined;
  }
}

/** Its command line, as its own process title shows it when it set one; empty once it is gone. */
export function processArgv(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((arg) => arg !== '');
  } catch {
    return [];
  }
}

/**
 * Exited, or a zombie: an orphan is re-parented to pid 1, which in a container may never reap it, and a zombie
 * runs nothing (process.kill(pid, 0) would still call it alive).
 */
export function hasEnded(stat: ProcessStat | undefined): boolean {
  return stat === undefined || stat.state === 'Z' || stat.state === 'X';
}
