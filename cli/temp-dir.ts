/**
 * A temporary directory that does not outlive the process: removed by `remove()` on a clean stop, and by an
 * 'exit' hook when the process ends through process.exit() (a second Ctrl-C, a crash in a signal handler).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempDir {
  readonly path: string;
  remove(): void;
  /** From now on the directory stays after the process ends (its contents were shown to the user). */
  keep(): void;
}

export function temporaryDir(prefix: string): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  const remove = () => {
    process.removeListener('exit', remove);
    rmSync(path, { recursive: true, force: true });
  };
  process.on('exit', remove);
  return { path, remove, keep: () => void process.removeListener('exit', remove) };
}
