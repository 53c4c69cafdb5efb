/**
 * <dir>/demo.yaml: the tool calls `asya dev --demo` makes, and what each should end with.
 *
 *   - tool: review_document
 *     arguments: {title: Empty page, text: "..."}
 *     expect:
 *       status: failed                      # or succeeded; `expect: failed` is short for this
 *       error: no text left after cleaning  # a piece of the error (failed) or of the result (succeeded)
 *
 * Without `expect`, a call only has to end (succeeded or failed) for the demo to pass.
 */
import { readFileSync } from 'node:fs';
import YAML from 'yaml';

export interface DemoExpectation {
  status?: 'succeeded' | 'failed';
  /** A substring of the failure's text, or of the result's JSON. */
  error?: string;
}

export interface DemoCall {
  tool: string;
  arguments: Record<string, unknown>;
  expect: DemoExpectation;
}

const STATUSES = ['succeeded', 'failed'];

export function readDemoFile(path: string): DemoCall[] {
  const doc: unknown = YAML.parse(readFileSync(path, 'utf8'));
  if (!Array.isArray(doc)) throw new Error(`${path}: expected a list of calls (- tool: ..., arguments: {...})`);
  return doc.map((entry: unknown, i) => {
    const where = `${path}: call ${i + 1}`;
    const call = entry as { tool?: unknown; arguments?: unknown; expect?: unknown } | null;
    if (!call || typeof call.tool !== 'string') throw new Error(`${where}: 'tool' must name a tool`);
    const args = call.arguments ?? {};
    if (typeof args !== 'object' || Array.isArray(args)) throw new Error(`${where}: 'arguments' must be a mapping`);
    const raw = typeof call.expect === 'string' ? { status: call.expect } : (call.expect ?? {});
    const expect = raw as { status?: unknown; error?: unknown };
    if (typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${where}: 'expect' must be succeeded, failed or {status, error}`);
    if (expect.status !== undefined && !STATUSES.includes(expect.status as string)) throw new Error(`${where}: expect.status must be succeeded or failed`);
    if (expect.error !== undefined && typeof expect.error !== 'string') throw new Error(`${where}: expect.error must be a string`);
    return {
      tool: call.tool,
      arguments: args as Record<string, unknown>,
      expect: { ...(expect.status ? { status: expect.status as 'succeeded' | 'failed' } : {}), ...(expect.error ? { error: expect.error } : {}) },
    };
  });
}

/** Why a final outcome does not meet the expectation, or undefined when it does. */
export function unmet(expect: DemoExpectation, outcome: { status: string; text: string }): string | undefined {
  if (outcome.status !== 'succeeded' && outcome.status !== 'failed') return `it did not finish (${outcome.status})`;
  if (expect.status && outcome.status !== expect.status) return `expected ${expect.status}, got ${outcome.status}`;
  if (expect.error && !outcome.text.includes(expect.error)) return `expected ${JSON.stringify(expect.error)} in: ${outcome.text}`;
  return undefined;
}
