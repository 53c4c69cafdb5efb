/**
 * Where a test sends the output of a child process it does not read itself: this worker's stderr, which
 * test/runner/route-output.ts turns into the running test's output, shown by the runner only if that test
 * fails. A child spawned with inherited stdio would write past vitest, into every green run.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
export function toTestOutput(chunk: Buffer): void {
  process.stderr.write(chunk);
}

/** A folder for a test's artifacts (screenshots, measurements), test-output/<name> at the repository root; kept after the run. */
export function testArtifactsDir(name: string): string {
  const dir = join(import.meta.dirname, '../../test-output', name);
  mkdirSync(dir, { recursive: true });
  return dir;
}
