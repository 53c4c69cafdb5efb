/**
 * Whether a process still runs, for the embedded store's owners: a scratch directory (pglite.ts) or a data
 * directory's lock (cli/dev/store-lock.ts) whose process is gone was left by a kill and may be taken.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists, it only belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
