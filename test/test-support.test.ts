/**
 * Guards in test/support: tools.ts (which tools count as present, what a test that needs a missing one does)
 * and golden.ts (UPDATE_GOLDEN never rewrites expected files on CI).
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { updateGolden } from './support/golden.ts';
import { missingTools, requireTools } from './support/tools.ts';

const bin = mkdtempSync(join(tmpdir(), 'asya-tools-'));
writeFileSync(join(bin, 'kpt'), '#!/bin/sh\n');
chmodSync(join(bin, 'kpt'), 0o755);
writeFileSync(join(bin, 'kubectl'), 'not executable');
afterAll(() => rmSync(bin, { recursive: true, force: true }));

/** Records what requireTools asks of the test context. */
function context() {
  const notes: (string | undefined)[] = [];
  return { notes, skip: (note?: string) => void notes.push(note) };
}

test('a tool counts as present only as an executable file on PATH', () => {
  expect(missingTools(['kpt', 'kubectl', 'rabbitmqctl'], { PATH: bin })).toEqual(['kubectl', 'rabbitmqctl']);
  expect(missingTools(['kpt'], { PATH: '' })).toEqual(['kpt']);
});

test('a test that needs a missing tool is skipped with the reason', () => {
  const ctx = context();
  requireTools(ctx, ['kpt', 'kubectl'], { PATH: bin });
  expect(ctx.notes).toEqual(['kubectl not on PATH (how to get it: docs/testing.md, "Tools")']);

  const present = context();
  requireTools(present, ['kpt'], { PATH: bin });
  expect(present.notes).toEqual([]);
});

test('on CI a missing tool fails the test instead of skipping it', () => {
  const ctx = context();
  expect(() => requireTools(ctx, ['kubectl', 'rabbitmqctl'], { PATH: bin, CI: 'true' })).toThrow(
    'CI must have every tool the tests need, and kubectl and rabbitmqctl not on PATH (how to get them: docs/testing.md, "Tools")',
  );
  expect(ctx.notes).toEqual([]);
});

test('UPDATE_GOLDEN=1 asks golden tests to rewrite their files, and refuses where CI is set', () => {
  expect(updateGolden({})).toBe(false);
  expect(updateGolden({ UPDATE_GOLDEN: '1' })).toBe(true);
  expect(updateGolden({ CI: 'true' })).toBe(false);
  expect(() => updateGolden({ UPDATE_GOLDEN: '1', CI: 'true' })).toThrow('UPDATE_GOLDEN=1 rewrites the expected files, so it refuses to run where CI is set');
});
