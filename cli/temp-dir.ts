/**
 * A temporary directory that does not outlive the process: removed by `remove()` on a clean stop, and by an
 * 'exit' hook when the process ends through process.exit() (a second Ctrl-C, a crash in a signal handler).
 * A process killed outright (SIGKILL, the OOM killer) runs no hook: its directory names its owner, and the
 * next process that makes one of the same kind on this host removes it once that owner is gone.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { isProcessAlive } from '../gateway/store/process-alive.ts';

export interface TempDir {
  readonly path: string;
  remove(): void;
  /** From now on the directory stays after the process ends (its contents were shown to the user). */
  keep(): void;
}

/** `<host> <pid>` of the process the directory belongs to; a directory without it is never removed by another. */
const OWNER_FILE = '.asya-owner';

export function temporaryDir(prefix: string): TempDir {
  removeOrphans(prefix);
  const path = mkdtempSync(join(tmpdir(), prefix));
  const owner = join(path, OWNER_FILE);
  writeFileSync(owner, `${hostname()} ${process.pid}\n`);
  const remove = () => {
    process.removeListener('exit', remove);
    rmSync(path, { recursive: true, force: true });
  };
  process.on('exit', remove);
  return {
    path,
    remove,
    keep: () => {
      process.removeListener('exit', remove);
      rmSync(owner, { force: true });
    },
  };
}

/** Directories of this kind whose owner was a process of this host that no longer runs. */
function removeOrphans(prefix: string): void {
  let entries: string[];
  try {
    entries = readdirSync(tmpdir()).filter((entry) => entry.startsWith(prefix));
  } catch {
    return;
  }
  for (const entry of entries) {
    const dir = join(tmpdir(), entry);
    try {
      const [host, pid] = readFileSync(join(dir, OWNER_FILE), 'utf8').trim().split(' ');
      // Another host's process (a shared /tmp) cannot be looked up from here: its directory is left alone.
      if (host !== hostname() || !isGone(Number(pid))) continue;
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // No owner file (another program's, or one kept on purpose), or not ours to remove: left as it is.
    }
  }
}

function isGone(pid: number): boolean {
  return Number.isInteger(pid) && pid > 0 && !isProcessAlive(pid);
}
