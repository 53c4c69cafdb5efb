/**
 * Where a test sends the output of a child process it does not read itself: this worker's stderr, which
 * test/runner/route-output.ts turns into the running test's output, shown by the runner only if that test
 * fails. A child spawned with inherited stdio would write past vitest, into every green run.
 */
import { startCrew, type CrewOptions, type CrewRole, type RunningCrew } from '../../cli/crew.ts';

export function toTestOutput(chunk: Buffer): void {
  process.stderr.write(chunk);
}

/** `startCrew` with its runtime's output sent to the test's output instead of the worker's stderr. */
export function startTestCrew(role: CrewRole, options: CrewOptions = {}): Promise<RunningCrew> {
  return startCrew(role, { runtimeOutput: toTestOutput, ...options });
}
