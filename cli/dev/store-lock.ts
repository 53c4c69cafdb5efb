/**
 * One `asya dev` per embedded store. PGlite keeps no lock of its own, so two processes on one data directory
 * would both write it and corrupt each other; the second one must stop with a clear message instead.
 */
import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';
import { isProcessAlive } from '../../gateway/store/process-alive.ts';
import { CliError, EXIT } from '../client/exit-codes.ts';

export interface StoreLock {
  release(): void;
}

/**
 * Creates the data directory (and its parents: a new project has no .asya/ yet) and takes `<dataDir>.lock`.
 * The lock sits beside the directory, not inside it, so the database directory holds only the database's files.
 * A lock left by a process that no longer runs (kill -9, a crash) is taken over.
 */
export function lockStore(dataDir: string): StoreLock {
  mkdirSync(dataDir, { recursive: true });
  const lockFile = `${dataDir}.lock`;
  mkdirSync(dirname(lockFile), { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(lockFile, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      const owner = Number.parseInt(readFileSync(lockFile, 'utf8'), 10);
      if (Number.isInteger(owner) && owner !== process.pid && isProcessAlive(owner)) {
        throw new CliError(
          EXIT.usage,
          `the store ${dataDir} is in use by another asya dev (pid ${owner}); stop that one, or give this one its own --data-dir`,
        );
      }
      rmSync(lockFile, { force: true });
    }
  }
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    process.removeListener('exit', release);
    rmSync(lockFile, { force: true });
  };
  // A second Ctrl-C ends the process with process.exit(): 'exit' still runs, so the lock goes with it.
  process.on('exit', release);
  return { release };
}
