import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { REPO_ROOT, startRuntime } from '../../test/support/runtime-process.ts';
import { HandlerLoadError, loadHandler, parseHandlerSpec } from './load-handler.ts';

const dir = 'runtime/testdata/handlers';

describe('handler specs', () => {
  test.each(['', 'echo', '../etc/passwd', 'os;rm -rf /', 'file.ts#', 'file.ts#a.b.c', 'file.ts#my-func', "file.ts#__import__('os')"])(
    'rejects %j with a clear message',
    (spec) => {
      expect(() => parseHandlerSpec(spec)).toThrow(/expected <file>#<export> or <file>#<Class>.<method>/);
    },
  );

  test('parses functions and class methods', () => {
    expect(parseHandlerSpec('h/x.ts#run')).toEqual({ file: 'h/x.ts', name: 'run' });
    expect(parseHandlerSpec('x.mjs#Model.predict')).toEqual({ file: 'x.mjs', name: 'Model', method: 'predict' });
  });
});

describe('loading', () => {
  const load = (spec: string) => loadHandler(spec, REPO_ROOT);

  test('a TypeScript function and an .mjs function, resolved from the working directory', async () => {
    expect(await (await load(`${dir}/fixtures.ts#echo`))({ a: 1 })).toEqual({ a: 1 });
    expect(await (await load(`${dir}/plain.mjs#shout`))('hey')).toBe('HEY');
  });

  test('asya runtime loads a TypeScript handler from a folder with no package.json (not taken for CommonJS)', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'asya-ts-handler-'));
    writeFileSync(join(outside, 'greet.ts'), 'export function greet(p: { name: string }): string {\n  return `hi ${p.name}`;\n}\n');
    const socketDir = join(outside, 'sock');
    mkdirSync(socketDir);
    try {
      // Ready (its ready file and socket exist) means the handler loaded; a load failure exits first.
      const runtime = await startRuntime('node', { handler: 'greet.ts#greet', cwd: outside, dir: socketDir, env: { ASYA_LOG_LEVEL: 'INFO' } });
      // The ready file comes a moment before the log line and the SIGTERM handler: a stop in between kills it.
      await expect.poll(() => runtime.output(), { timeout: 10_000 }).toContain('Runtime ready');
      const code = await runtime.stop();
      expect(runtime.output(), `exit ${code}, signal ${runtime.child.signalCode}`).toContain('Runtime ready');
      expect(runtime.output()).not.toContain('FATAL');
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  test('a class with defaulted constructor parameters is instantiated once', async () => {
    const handler = await load(`${dir}/loading.ts#Defaults.process`);
    expect(handler({ name: 'Ada' })).toBe('hi Ada');
  });

  test.each([
    ['missing file', 'nope/missing.ts#run', /Handler file not found/],
    ['unsupported extension', `${dir}/fixtures.py#echo`, /must end in \.js/],
    ['missing export', `${dir}/fixtures.ts#nothing`, /has no export named 'nothing'/],
    ['not callable', `${dir}/loading.ts#notCallable`, /is not callable/],
    ['function used as a class', `${dir}/fixtures.ts#echo.process`, /is not a class/],
    ['required constructor parameter', `${dir}/loading.ts#NeedsArg.process`, /1 required parameter/],
    ['constructor throws', `${dir}/loading.ts#Explodes.process`, /Failed to instantiate .*cannot start/],
    ['missing method', `${dir}/loading.ts#Defaults.predict`, /has no method 'predict'/],
  ])('%s is a HandlerLoadError', async (_name, spec, message) => {
    await expect(load(spec)).rejects.toThrow(HandlerLoadError);
    await expect(load(spec)).rejects.toThrow(message);
  });

  test('asya runtime exits 1 with one FATAL line for a bad handler', () => {
    const result = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/asya.js'), 'runtime'], {
      cwd: REPO_ROOT,
      env: { ...process.env, ASYA_HANDLER: `${dir}/loading.ts#NeedsArg.process`, ASYA_SOCKET_DIR: '/tmp' },
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/FATAL: .*NeedsArg cannot be instantiated without arguments/);
  });

  test('asya runtime exits 1 when ASYA_HANDLER is not set or the mode is invalid', () => {
    for (const extra of [{ ASYA_HANDLER: '' }, { ASYA_HANDLER: `${dir}/fixtures.ts#echo`, ASYA_HANDLER_MODE: 'bogus' }]) {
      const result = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/asya.js'), 'runtime'], {
        cwd: REPO_ROOT,
        env: { ...process.env, ASYA_SOCKET_DIR: '/tmp', ...extra },
        encoding: 'utf8',
      });
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/FATAL: (ASYA_HANDLER not set|Invalid ASYA_HANDLER_MODE=bogus)/);
    }
  });
});
