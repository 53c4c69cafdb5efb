/**
 * <dir>/demo.yaml: the tool calls `asya dev --demo` makes, and what each should end with.
 *
 *   - tool: review_document
 *     arguments: {title: Empty page, text: "..."}
 *     expect:
 *       status: failed                      # or succeeded; `expect: failed` is short for this
 *       error: no text left after cleaning  # a piece of the error (failed) or of the result (succeeded)
 *     # or, for a success: result: {verdict: positive}  # the result contains these fields and values
 *
 * Without `expect`, a call only has to end (succeeded or failed) for the demo to pass. An unknown key is an
 * error naming the nearest valid one: a misspelled `expect` must not turn into a check that always passes.
 */
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import YAML from 'yaml';
import { didYouMean } from '../../api/nearest-name.ts';

export interface DemoExpectation {
  status?: 'succeeded' | 'failed';
  /** A substring of the failure's text, or of the result's JSON. */
  error?: string;
  /** What a successful result contains: these object fields with these values (nested), or this exact value. */
  result?: unknown;
}

export interface DemoCall {
  tool: string;
  arguments: Record<string, unknown>;
  expect: DemoExpectation;
}

const STATUSES = ['succeeded', 'failed'];
const CALL_KEYS = ['tool', 'arguments', 'expect'];
const EXPECT_KEYS = ['status', 'error', 'result'];

function checkKeys(value: object, allowed: string[], where: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new Error(`${where}: unknown key '${key}'${didYouMean(key, allowed)}; allowed: ${allowed.join(', ')}`);
  }
}

export function readDemoFile(path: string): DemoCall[] {
  const doc: unknown = YAML.parse(readFileSync(path, 'utf8'));
  if (!Array.isArray(doc)) throw new Error(`${path}: expected a list of calls (- tool: ..., arguments: {...})`);
  return doc.map((entry: unknown, i) => {
    const where = `${path}: call ${i + 1}`;
    const call = entry as { tool?: unknown; arguments?: unknown; expect?: unknown } | null;
    if (!call || typeof call.tool !== 'string') throw new Error(`${where}: 'tool' must name a tool`);
    checkKeys(call, CALL_KEYS, where);
    const args = call.arguments ?? {};
    if (typeof args !== 'object' || Array.isArray(args)) throw new Error(`${where}: 'arguments' must be a mapping`);
    const raw = typeof call.expect === 'string' ? { status: call.expect } : (call.expect ?? {});
    const expect = raw as { status?: unknown; error?: unknown; result?: unknown };
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${where}: 'expect' must be succeeded, failed or {status, error, result}`);
    checkKeys(raw, EXPECT_KEYS, `${where}: expect`);
    if (expect.result !== undefined && expect.status === 'failed') throw new Error(`${where}: expect.result is for a call that succeeds`);
    if (expect.status !== undefined && !STATUSES.includes(expect.status as string)) throw new Error(`${where}: expect.status must be succeeded or failed`);
    if (expect.error !== undefined && typeof expect.error !== 'string') throw new Error(`${where}: expect.error must be a string`);
    return {
      tool: call.tool,
      arguments: args as Record<string, unknown>,
      expect: {
        ...(expect.status ? { status: expect.status as 'succeeded' | 'failed' } : {}),
        ...(expect.error ? { error: expect.error } : {}),
        ...(expect.result !== undefined ? { result: expect.result } : {}),
      },
    };
  });
}

/** Why a final outcome does not meet the expectation, or undefined when it does. */
export function unmet(expect: DemoExpectation, outcome: { status: string; text: string; result?: unknown }): string | undefined {
  if (outcome.status !== 'succeeded' && outcome.status !== 'failed') return `it did not finish (${outcome.status})`;
  const status = expect.status ?? (expect.result !== undefined ? 'succeeded' : undefined);
  if (status && outcome.status !== status) return `expected ${status}, got ${outcome.status}`;
  if (expect.error && !outcome.text.includes(expect.error)) return `expected ${JSON.stringify(expect.error)} in: ${outcome.text}`;
  if (expect.result !== undefined && !contains(outcome.result, expect.result)) {
    return `expected the result to contain ${JSON.stringify(expect.result)}, got ${JSON.stringify(outcome.result)}`;
  }
  return undefined;
}

/** Objects match when every expected field matches (extra fields are fine); anything else must be equal. */
function contains(actual: unknown, expected: unknown): boolean {
  if (typeof expected === 'object' && expected !== null && !Array.isArray(expected)) {
    if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) return false;
    return Object.entries(expected).every(([k, v]) => contains((actual as Record<string, unknown>)[k], v));
  }
  if (Array.isArray(expected)) return Array.isArray(actual) && actual.length === expected.length && expected.every((v, i) => contains(actual[i], v));
  return isDeepStrictEqual(actual, expected);
}
