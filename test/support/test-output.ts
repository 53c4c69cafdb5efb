/**
 * Where a test sends the output of a child process it does not read itself: this worker's stderr, which
 * test/runner/route-output.ts turns into the running test's output, shown by the runner only if that test
 * fails. A child spawned with inherited stdio would write past vitest, into every green run.
 */
export function toTestOutput(chunk: Buffer): void {
  process.stderr.write(chunk);
}
