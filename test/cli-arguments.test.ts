/** The pure parts of the client commands and dev mode: command lines, JSON errors, coercion, demo.yaml. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { scanCallLine } from '../cli/call.ts';
import { CliError } from '../cli/client/exit-codes.ts';
import { jsonErrorOffset } from '../cli/client/json-error.ts';
import { applyFlags, parseArgumentsJson } from '../cli/client/tool-arguments.ts';
import { readDemoFile, unmet } from '../cli/dev/demo-file.ts';
import { formatTable } from '../cli/dev/status-board.ts';
import { errorText } from '../protocol/errors.ts';

const schema = {
  type: 'object',
  properties: {
    text: { type: 'string' },
    count: { type: 'integer' },
    ratio: { type: 'number' },
    dry_run: { type: 'boolean' },
    tags: { type: 'array', items: { type: 'integer' } },
    meta: { type: 'object' },
  },
};

function usageError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(2);
    return errorText(err);
  }
  throw new Error('expected a usage error');
}

describe('asya call command line', () => {
  test("asya's own options anywhere before --, tool flags in every form, -- ends asya's options", () => {
    const line = scanCallLine(['--gateway', 'http://gw:1', 'review', '{"a": 1}', '--count', '-3', '--dry-run', '--text=a=b', '--no-wait', '--', '--timeout', '5', '--json']);
    expect(line).toMatchObject({ tool: 'review', json: '{"a": 1}', gateway: 'http://gw:1', noWait: true, jsonOutput: false });
    expect(line.flags).toEqual([
      { key: 'count', value: '-3' },
      { key: 'dry-run', value: true },
      { key: 'text', value: 'a=b' },
      { key: 'timeout', value: '5' },
      { key: 'json', value: true },
    ]);
  });

  test('usage errors name the problem', () => {
    expect(usageError(() => scanCallLine([]))).toContain('missing the tool name');
    expect(usageError(() => scanCallLine(['t', '-x']))).toContain('unknown option -x');
    expect(usageError(() => scanCallLine(['t', '--gateway']))).toContain('--gateway needs a value');
    expect(usageError(() => scanCallLine(['t', '--timeout', 'soon']))).toContain('--timeout expects seconds');
    expect(usageError(() => scanCallLine(['t', '{}', 'extra']))).toContain('unexpected arguments: extra');
    expect(scanCallLine(['--help']).help).toBe(true);
  });

  test('--idempotency-key is asya\'s own (before --), checked before anything is sent', () => {
    expect(scanCallLine(['t', '--idempotency-key', 'order-17:retry']).idempotencyKey).toBe('order-17:retry');
    expect(scanCallLine(['t', '--idempotency-key=k']).idempotencyKey).toBe('k');
    const forTheTool = scanCallLine(['t', '--', '--idempotency-key', 'k']);
    expect(forTheTool).not.toHaveProperty('idempotencyKey');
    expect(forTheTool.flags).toEqual([{ key: 'idempotency-key', value: 'k' }]);
    expect(usageError(() => scanCallLine(['t', '--idempotency-key']))).toContain('--idempotency-key needs a value');
    expect(usageError(() => scanCallLine(['t', '--idempotency-key', 'a b']))).toContain('Invalid --idempotency-key: " " at position 2 is not allowed');
    expect(usageError(() => scanCallLine(['t', '--idempotency-key', 'k'.repeat(256)]))).toContain('Invalid --idempotency-key: 256 characters, at most 255');
  });
});

describe('arguments', () => {
  test('flags are coerced by the schema and override the JSON object', () => {
    const args = applyFlags(
      parseArgumentsJson('{"text": "from json", "count": 1}'),
      [
        { key: 'count', value: '42' },
        { key: 'ratio', value: '0.25' },
        { key: 'dry_run', value: 'no' },
        { key: 'tags', value: '1' },
        { key: 'tags', value: '2' },
        { key: 'meta', value: '{"k": [true]}' },
      ],
      schema,
      () => {},
    );
    expect(args).toEqual({ text: 'from json', count: 42, ratio: 0.25, dry_run: false, tags: [1, 2], meta: { k: [true] } });
    expect(applyFlags({}, [{ key: 'tags', value: '[3, 4]' }], schema, () => {})).toEqual({ tags: [3, 4] });
  });

  test('values the schema cannot take are usage errors; undeclared flags are sent as strings with a warning', () => {
    expect(usageError(() => applyFlags({}, [{ key: 'count', value: '1.5' }], schema, () => {}))).toContain('--count expects an integer, got "1.5"');
    expect(usageError(() => applyFlags({}, [{ key: 'ratio', value: 'x' }], schema, () => {}))).toContain('--ratio expects a number');
    expect(usageError(() => applyFlags({}, [{ key: 'dry_run', value: 'maybe' }], schema, () => {}))).toContain('--dry_run expects true or false');
    expect(usageError(() => applyFlags({}, [{ key: 'text', value: true }], schema, () => {}))).toContain('--text needs a value (a string)');
    expect(usageError(() => applyFlags({}, [{ key: 'tags', value: 'x' }], schema, () => {}))).toContain('--tags expects an integer');
    expect(usageError(() => applyFlags({}, [{ key: 'meta', value: '[1]' }], schema, () => {}))).toContain('--meta expects an object as JSON');
    const warnings: string[] = [];
    expect(applyFlags({}, [{ key: 'colour', value: '7' }], schema, (w) => warnings.push(w))).toEqual({ colour: '7' });
    expect(warnings[0]).toContain('declares no argument "colour"');
  });

  test('the JSON positional must be an object; a syntax error says line, column and shows the spot', () => {
    expect(usageError(() => parseArgumentsJson('[1]'))).toContain('must be a JSON object');
    const message = usageError(() => parseArgumentsJson('{\n  "text": "hi",\n}'));
    expect(message).toContain('unexpected "}" at line 3, column 1');
    expect(message).toMatch(/\n {2}\}\n {2}\^$/);
  });

  test.each([
    ['{"a":}', 5],
    ['{a: 1}', 1],
    ['[1, 2', 5],
    ['hello', 0],
    ['{"a": 1} x', 9],
    ['{"s": "\\u12"}', 11],
    ['{"n": 01}', 7],
    ['', 0],
  ])('the first error in %j is at offset %i', (text, offset) => {
    expect(jsonErrorOffset(text)).toBe(offset);
  });

  test('valid JSON has no error offset', () => {
    expect(jsonErrorOffset(' {"a": [1, -2.5e3, true, false, null, "x\\n\\u00e9"], "b": {}} ')).toBeUndefined();
  });
});

describe('demo.yaml', () => {
  test('calls with and without expectations; unmet expectations say why', () => {
    const dir = mkdtempSync(join(tmpdir(), 'asya-demo-file-'));
    try {
      const file = join(dir, 'demo.yaml');
      writeFileSync(file, '- tool: a\n- tool: b\n  arguments: {x: 1}\n  expect: failed\n- tool: c\n  expect: {status: succeeded, error: ok}\n');
      const calls = readDemoFile(file);
      expect(calls).toEqual([
        { tool: 'a', arguments: {}, expect: {} },
        { tool: 'b', arguments: { x: 1 }, expect: { status: 'failed' } },
        { tool: 'c', arguments: {}, expect: { status: 'succeeded', error: 'ok' } },
      ]);
      expect(unmet(calls[0]!.expect, { status: 'failed', text: 'boom' })).toBeUndefined();
      expect(unmet(calls[1]!.expect, { status: 'succeeded', text: '{}' })).toBe('expected failed, got succeeded');
      expect(unmet(calls[2]!.expect, { status: 'succeeded', text: '{"fine": 1}' })).toBe('expected "ok" in: {"fine": 1}');
      expect(unmet({}, { status: 'running', text: '' })).toBe('it did not finish (running)');
      writeFileSync(file, '- tool: a\n  expect: maybe\n');
      expect(() => readDemoFile(file)).toThrow('call 1: expect.status must be succeeded or failed');
      writeFileSync(file, 'tool: a\n');
      expect(() => readDemoFile(file)).toThrow('expected a list of calls');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('the dev table: names left, numbers right, a dash before the first timing', () => {
  const lines = formatTable([
    { name: 'normalize', state: 'up', queued: 12, inFlight: 1, processed: 340, errors: 2, p50Ms: 3.25 },
    { name: 'report', state: 'failed', queued: undefined, inFlight: 0, processed: 0, errors: 0, p50Ms: undefined },
  ]);
  expect(lines).toEqual([
    'ACTOR      STATE   QUEUED  IN-FLIGHT  PROCESSED  ERRORS     P50',
    'normalize  up          12          1        340       2  3.3 ms',
    'report     failed       ?          0          0       0       -',
  ]);
});
