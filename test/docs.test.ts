/**
 * The docs are tests: every shell block a user is told to run runs here, in order, in a fresh temporary
 * directory outside the repository, with `asya` installed from the package tarball the way a user installs it
 * (see docs/getting-started.md), and none of the repository's state: no `.asya/`, no `dist/`, no tokens.
 * Blocks that cannot run here are marked with their reason and listed (test/support/doc-blocks.ts).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readDocPage, runnableText, SHELL_LANGS, type DocBlock, type DocPage } from './support/doc-blocks.ts';
import { waitUntil } from './support/gateway-harness.ts';
import { signalGroup } from './support/process-group.ts';
import { installPackedAsya } from './support/packed-asya.ts';
import { errorText } from '../protocol/errors.ts';

const REPO = resolve(import.meta.dirname, '..');
const PAGES: DocPage[] = [
  readDocPage(join(REPO, 'README.md'), 'README.md'),
  ...readdirSync(join(REPO, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => readDocPage(join(REPO, 'docs', f), `docs/${f}`)),
];
const SUMMARY_FILE = process.env.ASYA_DOC_BLOCKS_SUMMARY ?? join(tmpdir(), 'asya-doc-blocks-summary.txt');
const BLOCK_TIMEOUT_MS = 10 * 60_000;

let scratch = '';
let tarball = '';
let toolbox = '';
const ran: string[] = [];
const skipped = PAGES.flatMap((page) => page.blocks.flatMap((b) => (b.mark?.kind === 'skip' ? [`${b.where} (${b.mark.reason})`] : [])));

/** The files a fresh clone would have (tracked and new, not ignored), copied: a checkout without its state. */
function copyRepository(into: string): void {
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: REPO })
    .toString()
    .split('\0')
    .filter(Boolean);
  for (const file of files) {
    const from = join(REPO, file);
    if (!existsSync(from)) continue; // deleted in the work tree, not yet committed
    mkdirSync(dirname(join(into, file)), { recursive: true });
    cpSync(from, join(into, file));
  }
}

/** The environment of a user who has just installed asya: no ASYA_* settings or tokens of ours. */
function userEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ASYA_') && !k.startsWith('VITEST') && k !== 'NODE_OPTIONS') env[k] = v;
  return { ...env, PATH: `${join(toolbox, 'node_modules', '.bin')}:${process.env.PATH}`, ...extra };
}

interface Finished {
  code: number | null;
  output: string;
}

function runScript(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<Finished> {
  return new Promise((done) => {
    const child = spawn('bash', ['-eo', 'pipefail', '-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (code) => done({ code, output }));
  });
}

async function ready(target: string, cwd: string, child: ChildProcess): Promise<boolean> {
  if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode} before it was ready`);
  if (!/^https?:/.test(target)) return existsSync(resolve(cwd, target));
  try {
    const res = await fetch(target);
    return res.ok;
  } catch {
    return false;
  }
}

async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise((r) => child.once('exit', r));
  // Ctrl-C first, as a user would: the processes drain and remove what they made.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGKILL'] as const) {
    if (!signalGroup(child, signal)) return;
    const stopped = await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 15_000))]);
    if (stopped) return;
  }
}

function tail(text: string, lines = 60): string {
  return text.split('\n').slice(-lines).join('\n');
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'asya-docs-'));
  ({ tarball, toolbox } = installPackedAsya(scratch));
}, BLOCK_TIMEOUT_MS);

afterAll(async () => {
  const lines = [`doc blocks: ${ran.length} ran, ${skipped.length} marked not runnable here`, ...skipped.map((s) => `  not run: ${s}`)];
  writeFileSync(SUMMARY_FILE, lines.join('\n') + '\n');
  console.log(lines.join('\n'));
  // The scratch directory holds a whole npm install: removing it took over a minute under load.
  if (scratch) await rm(scratch, { recursive: true, force: true });
}, BLOCK_TIMEOUT_MS);

test('every shell block in README.md and docs/ is marked: run, background, file or skip with a reason', () => {
  const problems: string[] = [];
  for (const page of PAGES) {
    for (const block of page.blocks) {
      if (block.badMark !== undefined) problems.push(`${block.where}: unreadable mark "${block.badMark}"`);
      else if (!block.mark && SHELL_LANGS.has(block.lang)) problems.push(`${block.where}: a ${block.lang} block without a doc-test mark`);
    }
  }
  expect(problems).toEqual([]);
});

for (const page of PAGES.filter((p) => p.blocks.some((b) => b.mark && b.mark.kind !== 'skip'))) {
  describe(page.path, () => {
    let workdir = '';
    const background: ChildProcess[] = [];
    beforeAll(() => {
      workdir = join(scratch, page.path.replace(/[^A-Za-z0-9]+/g, '-'));
      mkdirSync(workdir);
      if (page.workdir === 'repository') copyRepository(workdir);
    });
    afterAll(async () => {
      for (const child of background.reverse()) await stopGroup(child);
    }, 60_000);

    for (const block of page.blocks) {
      const mark = block.mark;
      if (!mark) continue;
      if (mark.kind === 'skip') continue;
      test(`${block.where} ${mark.kind}${mark.kind === 'file' ? ` ${mark.path}` : ''}`, async () => {
        const env = userEnv({ ASYA_SRC: workdirOfRepository(page, workdir) });
        if (mark.kind === 'file') {
          const target = join(workdir, mark.path);
          mkdirSync(dirname(target), { recursive: true });
          writeFileSync(target, block.content);
        } else if (mark.kind === 'run') {
          const result = await runScript(runnableText(block), workdir, env);
          expect(result.code, `${block.where} failed:\n${runnableText(block)}\n--- output ---\n${tail(result.output)}`).toBe(0);
        } else {
          const log = join(workdir, `.doc-test-${background.length}.log`);
          const out = openSync(log, 'a');
          const child = spawn('bash', ['-c', block.content], { cwd: workdir, env, stdio: ['ignore', out, out], detached: true });
          closeSync(out);
          background.push(child);
          try {
            await waitUntil(() => ready(mark.ready, workdir, child), 180_000, `${block.where} ready at ${mark.ready}`);
          } catch (err) {
            throw new Error(`${errorText(err)}\n--- output ---\n${tail(readFileSync(log, 'utf8'))}`);
          }
        }
        ran.push(block.where);
      }, BLOCK_TIMEOUT_MS);
    }
  });
}

/** Where a page finds "the clone of Asya" it talks about: a fresh copy, made once per page that asks. */
function workdirOfRepository(page: DocPage, workdir: string): string {
  if (page.workdir === 'repository') return workdir;
  const copy = join(scratch, 'asya-src');
  if (!existsSync(copy)) copyRepository(copy);
  return copy;
}
