/**
 * The README's handler commands, run as a new user runs them: from their own fresh directory outside the
 * repository, with no PYTHONPATH and no package.json.
 */
import { spawnSync } from 'node:child_process';
import { afterEach, expect, test } from 'vitest';
import { GREET_PY, emptyProject, type Project } from './support/new-project.ts';
import { runtimeCommand, startRuntime, type RuntimeKind, type RuntimeProcess } from './support/runtime-process.ts';
import { call } from './support/socket-client.ts';

let project: Project | undefined;
let runtime: RuntimeProcess | undefined;

afterEach(async () => {
  await runtime?.stop();
  project?.cleanup();
  runtime = undefined;
  project = undefined;
});

const envelope = { id: 'e1', route: { actors: ['greet'], current: 0 }, payload: { name: 'Ada' } };

test('python3 runtime/python/asya_runtime.py serves ASYA_HANDLER=greet.process from the directory that holds greet.py, without PYTHONPATH', async () => {
  project = emptyProject();
  project.write('greet.py', GREET_PY);
  runtime = await startRuntime('python', { handler: 'greet.process', cwd: project.dir, env: { PYTHONPATH: '' } });
  const [out] = (await call(runtime.socketPath, envelope)) as Array<{ payload: unknown }>;
  expect(out?.payload).toEqual({ greeting: 'hello Ada' });
});

test('PYTHONPATH still wins over the working directory (the original layout: handlers under PYTHONPATH)', async () => {
  project = emptyProject();
  project.write('greet.py', 'def process(payload):\n    return {"from": "cwd"}\n');
  project.write('app/greet.py', 'def process(payload):\n    return {"from": "pythonpath"}\n');
  runtime = await startRuntime('python', { handler: 'greet.process', cwd: project.dir, env: { PYTHONPATH: `${project.dir}/app` } });
  const [out] = (await call(runtime.socketPath, envelope)) as Array<{ payload: unknown }>;
  expect(out?.payload).toEqual({ from: 'pythonpath' });
});

test('npx asya runtime serves ASYA_HANDLER=handlers/greet.ts#process from a directory without package.json', async () => {
  project = emptyProject();
  project.write('handlers/greet.ts', 'export async function process(payload: { name: string }) {\n  return { greeting: `hello ${payload.name}` };\n}\n');
  runtime = await startRuntime('node', { handler: 'handlers/greet.ts#process', cwd: project.dir });
  const [out] = (await call(runtime.socketPath, envelope)) as Array<{ payload: unknown }>;
  expect(out?.payload).toEqual({ greeting: 'hello Ada' });
});

test("a TypeScript handler's stack trace points at file.ts:line:col, also without a package.json", async () => {
  project = emptyProject();
  project.write('handlers/boom.ts', 'export async function process(payload: { n: number }) {\n  if (payload.n > 0) throw new RangeError("too big");\n  return payload;\n}\n');
  runtime = await startRuntime('node', { handler: 'handlers/boom.ts#process', cwd: project.dir });
  const [out] = (await call(runtime.socketPath, { ...envelope, payload: { n: 1 } })) as Array<{ error: string; details: { type: string; traceback: string } }>;
  expect(out).toMatchObject({ error: 'processing_error', details: { type: 'RangeError', message: 'too big' } });
  expect(out!.details.traceback).toContain(`at process (${project.dir}/handlers/boom.ts:2:`);
  expect(out!.details.traceback).not.toContain('data:text/javascript');
});

test.each<RuntimeKind>(['python', 'node'])('%s runtime without ASYA_HANDLER says to fix the AsyncActor manifest', (kind) => {
  project = emptyProject();
  const [cmd, ...args] = runtimeCommand(kind);
  const run = spawnSync(cmd!, args, { cwd: project.dir, env: { ...process.env, ASYA_HANDLER: '', ASYA_SOCKET_DIR: project.dir }, encoding: 'utf8' });
  expect(run.status).toBe(1);
  expect(run.stderr).toMatch(/FATAL: ASYA_HANDLER not set: give the asya-runtime container of the AsyncActor an env entry ASYA_HANDLER=/);
});
