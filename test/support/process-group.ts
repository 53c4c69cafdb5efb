/** Checking and signalling processes that tests start in process groups of their own (spawn's `detached`). */
import type { ChildProcess } from 'node:child_process';

/** True when a process with this pid exists (signal 0 checks without sending anything). */
export function processAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Sends the signal to the child's whole process group; false when there is no such group (any more). */
export function signalGroup(child: ChildProcess | undefined, signal: NodeJS.Signals): boolean {
  if (child?.pid === undefined) return false;
  try {
    process.kill(-child.pid, signal);
    return true;
  } catch {
    return false;
  }
}
