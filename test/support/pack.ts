/**
 * `npm pack` of this repository into a directory, as users make the tarball. Its prepack script rebuilds
 * dist/krm and dist/lib in the repository itself, so two test files packing at once (test/docs.test.ts and
 * test/package.test.ts run in parallel workers) would archive each other's half-written files: a lock
 * directory makes them take turns, and a lock whose process has died is taken over.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createHash } from 'node:crypto';

const REPO = resolve(import.meta.dirname, '../..');
const LOCK = join(tmpdir(), `asya-pack-${createHash('sha256').update(REPO).digest('hex').slice(0, 12)}.lock`);
const PACK_TIMEOUT_MS = 300_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits (without a deadline of its own: the caller's hook timeout bounds it) until this process holds the lock. */
function acquire(): void {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'pid'), String(process.pid));
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let holder = NaN;
    try {
      holder = Number(readFileSync(join(LOCK, 'pid'), 'utf8'));
    } catch {
      // the holder has made the directory and not yet written its pid
    }
    if (Number.isInteger(holder) && !alive(holder)) rmSync(LOCK, { recursive: true, force: true });
    else Atomics.wait(pause, 0, 0, 200); // poll the lock; the holder releases it when its pack is done
  }
}

export interface Packed {
  /** The tarball's path. */
  tarball: string;
  /** The paths inside the package, as `npm pack --json` lists them. */
  files: string[];
}

export function packRepository(destination: string): Packed {
  acquire();
  try {
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', destination], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], timeout: PACK_TIMEOUT_MS }).toString();
    const [pack] = JSON.parse(out) as Array<{ filename: string; files: { path: string }[] }>;
    return { tarball: join(destination, pack!.filename), files: pack!.files.map((f) => f.path) };
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}
