/**
 * The gateway process survives postgres.js's stray write after a closed connection, and nothing else: a
 * child process installs the guard, then throws from a setImmediate the way the driver does.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { isClosedSocketWriteBug } from './postgres-driver-bug.ts';

const DRIVER_STACK = [
  "TypeError: Cannot read properties of null (reading 'write')",
  '    at nextWrite (/app/node_modules/postgres/src/connection.js:255:22)',
  '    at process.processImmediate (node:internal/timers:483:21)',
].join('\n');

function driverError(stack = DRIVER_STACK): TypeError {
  const err = new TypeError("Cannot read properties of null (reading 'write')");
  err.stack = stack;
  return err;
}

function childThrowing(stack: string): ReturnType<typeof spawnSync> {
  const guard = join(import.meta.dirname, 'postgres-driver-bug.ts');
  const script = `
    const { surviveClosedSocketWriteBug } = await import(${JSON.stringify(guard)});
    surviveClosedSocketWriteBug({ debug() {}, info() {}, warn: (m) => console.log('warned: ' + m), error: (m) => console.error(m) });
    setImmediate(() => {
      const err = new TypeError("Cannot read properties of null (reading 'write')");
      err.stack = ${JSON.stringify(stack)};
      throw err;
    });
    setTimeout(() => console.log('still alive'), 50);
  `;
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
}

describe('postgres.js closed-socket write (porsager/postgres #1154)', () => {
  test('is recognised by its message and its place in the driver, nothing else', () => {
    expect(isClosedSocketWriteBug(driverError())).toBe(true);
    expect(isClosedSocketWriteBug(driverError(DRIVER_STACK.replace('/src/connection.js', '/cjs/src/connection.js')))).toBe(true);
    expect(isClosedSocketWriteBug(driverError(DRIVER_STACK.replace('postgres/src', 'other/src')))).toBe(false);
    expect(isClosedSocketWriteBug(new TypeError("Cannot read properties of null (reading 'write')"))).toBe(false);
    expect(isClosedSocketWriteBug(new Error("Cannot read properties of null (reading 'write')"))).toBe(false);
    expect(isClosedSocketWriteBug({ name: 'TypeError', message: driverError().message, stack: DRIVER_STACK })).toBe(true);
    expect(isClosedSocketWriteBug(undefined)).toBe(false);
  });

  test('a process with the guard logs it and keeps running', () => {
    const run = childThrowing(DRIVER_STACK);
    expect(run.stdout).toContain('warned: database connection');
    expect(run.stdout).toContain('still alive');
    expect(run.status).toBe(0);
  });

  test('any other uncaught error still ends the process with its stack', () => {
    const run = childThrowing('TypeError: something else\n    at ours (/app/gateway/app.ts:1:1)');
    expect(run.stdout).not.toContain('still alive');
    expect(run.stderr).toContain('something else');
    expect(run.status).toBe(1);
  });
});
