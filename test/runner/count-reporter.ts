/**
 * The vitest reporter behind test/run.mjs's closing line. Vitest's own totals leave out what did not run as
 * a test: tests behind a failing beforeAll are marked skipped, a file that fails to load has no tests, and
 * an unhandled error belongs to no test. Here each of those counts as failed (docs/testing.md, "Counting").
 * It prints every skipped test with its reason and one line per failure, and writes the counts as JSON to
 * the file named by ASYA_TEST_COUNTS (with the failure lines) for test/run.mjs to print last.
 */
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import type { Reporter, SerializedError, TestCase, TestModule, TestRunEndReason, TestSuite } from 'vitest/node';

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

interface Outcome {
  counts: Counts;
  failures: string[];
  skips: { name: string; reason: string }[];
}

const NO_REASON = 'no reason given (test.skip, or .only elsewhere in the file)';
const FILTERED = 'left out by the -t filter';

const firstLine = (error: SerializedError | undefined) => (error?.message ?? String(error)).split('\n')[0]!;

/** Where vitest saw an unhandled error (it tags the error with the file and the test running then), so the line can be traced. */
function origin(error: SerializedError, root: string): string {
  const path = typeof error['VITEST_TEST_PATH'] === 'string' ? relative(root, error['VITEST_TEST_PATH']) : '';
  const test = typeof error['VITEST_TEST_NAME'] === 'string' ? error['VITEST_TEST_NAME'] : '';
  return path ? ` in ${path}${test ? ` > ${test}` : ''}` : '';
}

/** The nearest suite or module above the test that holds an error (a failed hook or a failed load). */
function brokenAncestor(test: TestCase): TestSuite | TestModule | undefined {
  for (let parent: TestSuite | TestModule = test.parent; ; parent = parent.parent) {
    if (parent.errors().length > 0) return parent;
    if (parent.type === 'module') return undefined;
  }
}

export function countRun(
  modules: ReadonlyArray<TestModule>,
  unhandled: ReadonlyArray<SerializedError>,
  reason: TestRunEndReason,
  options: { root: string; filtered: boolean },
): Outcome {
  const outcome: Outcome = { counts: { passed: 0, failed: 0, skipped: 0 }, failures: [], skips: [] };
  const fail = (line: string) => {
    outcome.counts.failed += 1;
    outcome.failures.push(line);
  };
  for (const module of modules) {
    const file = relative(options.root, module.moduleId);
    const name = (entity: TestCase | TestSuite) => `${file} > ${entity.fullName}`;
    // Suites and modules whose error made some test not run: their error is counted through those tests.
    const accounted = new Set<TestSuite | TestModule>();
    for (const test of module.children.allTests()) {
      const result = test.result();
      const broken = test.options.mode === 'skip' || test.options.mode === 'todo' ? undefined : brokenAncestor(test);
      if (result.state === 'passed') outcome.counts.passed += 1;
      else if (result.state === 'failed') fail(`${name(test)}: ${firstLine(result.errors[0])}`);
      else if (broken) {
        accounted.add(broken);
        fail(`${name(test)}: did not run: ${firstLine(broken.errors()[0])}`);
      } else if (result.state === 'pending') fail(`${name(test)}: had no result when the run ended`);
      else {
        outcome.counts.skipped += 1;
        outcome.skips.push({ name: name(test), reason: result.note ?? (options.filtered ? FILTERED : NO_REASON) });
      }
    }
    for (const holder of [module, ...module.children.allSuites()]) {
      if (holder.errors().length === 0 || accounted.has(holder)) continue;
      const where = holder.type === 'module' ? file : name(holder);
      for (const error of holder.errors()) fail(`${where}: ${firstLine(error)}`);
    }
  }
  for (const error of unhandled) fail(`unhandled error${origin(error, options.root)}: ${firstLine(error)}`);
  if (reason === 'interrupted') fail('the run was interrupted before every test ran');
  return outcome;
}

function print(outcome: Outcome): void {
  const lines: string[] = [];
  if (outcome.skips.length > 0) {
    lines.push(`skipped ${outcome.skips.length}:`);
    const byReason = new Map<string, string[]>();
    for (const skip of outcome.skips) byReason.set(skip.reason, [...(byReason.get(skip.reason) ?? []), skip.name]);
    for (const [reason, names] of byReason) {
      // A -t filter leaves out most of the suite: their names would bury the rest.
      if (reason === FILTERED) {
        lines.push(`  ${names.length} ${reason}`);
        continue;
      }
      lines.push(`  ${reason}:`);
      for (const name of names) lines.push(`    ↓ ${name}`);
    }
  }
  if (outcome.failures.length > 0) {
    lines.push(`failed ${outcome.failures.length}:`);
    for (const failure of outcome.failures) lines.push(`  × ${failure}`);
  }
  if (lines.length > 0) process.stdout.write(`\n${lines.join('\n')}\n`);
}

export default class CountReporter implements Reporter {
  private options = { root: process.cwd(), filtered: false };

  onInit(vitest: { config: { root: string; testNamePattern?: RegExp } }): void {
    this.options = { root: vitest.config.root, filtered: vitest.config.testNamePattern !== undefined };
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandled: ReadonlyArray<SerializedError>, reason: TestRunEndReason): void {
    const outcome = countRun(modules, unhandled, reason, this.options);
    print(outcome);
    const target = process.env.ASYA_TEST_COUNTS;
    // The failures go along so that test/run.mjs can repeat them beside its last line, where CI's tail shows them.
    if (target) writeFileSync(target, JSON.stringify({ ...outcome.counts, failures: outcome.failures }));
  }
}
