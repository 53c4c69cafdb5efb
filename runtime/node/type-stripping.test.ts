/**
 * TypeScript handlers with the bundled CLI, as the full image runs them (no tsx registered up front), from a
 * project directory outside the repository: on a Node that strips types, Node loads what stripping can run,
 * and tsx what it cannot (an enum, an import without its extension). Either way the handler answers, and
 * its stack traces name the file and line it was written on.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildCli } from '../../cli/build.ts';
import { startRuntime } from '../../test/support/runtime-process.ts';
import { call } from '../../test/support/socket-client.ts';
import { REPO_ROOT } from '../../test/support/runtime-process.ts';

const strips = Boolean((process.features as { typescript?: string | false }).typescript);

const HANDLERS: Record<string, string> = {
  // tsx switches source maps on for what it compiles; Node's stripping needs none (it blanks the types out).
  'plain.ts': 'interface In { text: string }\nexport function process(input: In): { length: number; tsx: boolean } {\n  return { length: input.text.length, tsx: globalThis.process.sourceMapsEnabled };\n}\n',
  'enum.ts': 'enum Size { Small = 1, Large = 2 }\nexport function process(input: { text: string }): { size: Size; tsx: boolean } {\n  return { size: input.text.length > 3 ? Size.Large : Size.Small, tsx: globalThis.process.sourceMapsEnabled };\n}\n',
  'util.ts': 'export const twice = (n: number): number => n * 2;\n',
  'extensionless.ts': "import { twice } from './util';\nexport function process(input: { text: string }): number {\n  return twice(input.text.length);\n}\n",
  'throws.ts': "type In = { text: string };\n\nexport function process(input: In): never {\n  throw new Error(`no ${input.text}`);\n}\n",
};

describe.skipIf(!strips)("TypeScript handlers on Node's type stripping, tsx where it cannot", () => {
  let bundle: string;
  let project: string;

  beforeAll(async () => {
    // Inside the repository's node_modules, so the bundle finds its dependencies (tsx among them) as dist/ would.
    mkdirSync(join(REPO_ROOT, 'node_modules/.cache'), { recursive: true });
    bundle = mkdtempSync(join(REPO_ROOT, 'node_modules/.cache/asya-cli-'));
    await buildCli(bundle);
    project = mkdtempSync(join(tmpdir(), 'asya-ts-project-'));
    for (const [file, text] of Object.entries(HANDLERS)) writeFileSync(join(project, file), text);
  }, 120_000);

  afterAll(() => {
    for (const dir of [bundle, project]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function answer(handler: string, text: string): Promise<unknown> {
    const runtime = await startRuntime('node', { handler, cwd: project, command: [process.execPath, join(bundle, 'asya.js'), 'runtime'] });
    try {
      return ((await call(runtime.socketPath, { id: 'e-1', route: { actors: ['a'], current: 0 }, payload: { text } })) as Array<{ payload?: unknown; details?: unknown }>)[0];
    } finally {
      await runtime.stop();
    }
  }

  test.each([
    ['plain.ts#process', { length: 5, tsx: false }],
    ['enum.ts#process', { size: 2, tsx: true }],
    ['extensionless.ts#process', 10],
  ])('%s answers', async (handler, expected) => {
    expect(await answer(handler, 'hello')).toMatchObject({ payload: expected });
  }, 60_000);

  test("a handler's error names its own file and line", async () => {
    const failure = (await answer('throws.ts#process', 'way')) as { details?: { traceback?: string } };
    expect(JSON.stringify(failure)).toContain('no way');
    expect(JSON.stringify(failure)).toMatch(/throws\.ts:4:9/);
  }, 60_000);
});
