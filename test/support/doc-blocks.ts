/**
 * The shell blocks of the user docs, with what each is for. A block is marked by an HTML comment on the line
 * before its fence, so the marks do not show on GitHub:
 *
 *   <!-- doc-test: run -->                     run it (bash, -e); it must exit 0
 *   <!-- doc-test: run lines=1-2 -->           run only those lines of the block
 *   <!-- doc-test: file path/in/workdir -->    write the block to that file (any language)
 *   <!-- doc-test: background ready=<url|path> -->
 *                                              start it, wait until the URL answers 2xx or the path exists; it
 *                                              is stopped when the page ends
 *   <!-- doc-test: skip <reason> -->           not runnable here (a cluster, the network); listed with its reason
 *
 * A page may start with `<!-- doc-test-page: workdir=repository -->`: its blocks run in a fresh copy of the
 * repository instead of an empty directory. Every sh/bash block must be marked, so a new command in the docs
 * cannot go untested by accident.
 */
import { readFileSync } from 'node:fs';

export type BlockMark =
  | { kind: 'run'; lines?: [number, number] }
  | { kind: 'file'; path: string }
  | { kind: 'background'; ready: string }
  | { kind: 'skip'; reason: string };

export interface DocBlock {
  /** `docs/dev.md:12`: the fence's line, 1-based. */
  where: string;
  lang: string;
  content: string;
  mark?: BlockMark;
  /** The text of a mark that could not be read. */
  badMark?: string;
}

export interface DocPage {
  path: string;
  workdir: 'empty' | 'repository';
  blocks: DocBlock[];
}

export const SHELL_LANGS = new Set(['sh', 'bash', 'shell', 'console']);

const MARK = /^<!--\s*doc-test:\s*(.*?)\s*-->\s*$/;
const PAGE_MARK = /^<!--\s*doc-test-page:\s*workdir=(empty|repository)\s*-->\s*$/m;

export function parseMark(text: string): BlockMark | undefined {
  const [kind = '', ...rest] = text.split(/\s+/);
  const arg = rest.join(' ');
  if (kind === 'run') {
    if (arg === '') return { kind: 'run' };
    const range = /^lines=(\d+)(?:-(\d+))?$/.exec(arg);
    if (!range) return undefined;
    const from = Number(range[1]);
    return { kind: 'run', lines: [from, Number(range[2] ?? from)] };
  }
  if (kind === 'file' && arg) return { kind: 'file', path: arg };
  if (kind === 'background') {
    const ready = /^ready=(\S+)$/.exec(arg);
    return ready ? { kind: 'background', ready: ready[1]! } : undefined;
  }
  if (kind === 'skip' && arg) return { kind: 'skip', reason: arg };
  return undefined;
}

export function readDocPage(path: string, label = path): DocPage {
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++;
    const block: DocBlock = { where: `${label}:${start + 1}`, lang: open[1] ?? '', content: lines.slice(start + 1, end).join('\n') + '\n' };
    const markText = MARK.exec(lines[start - 1] ?? '')?.[1];
    if (markText !== undefined) {
      const mark = parseMark(markText);
      if (mark) block.mark = mark;
      else block.badMark = markText;
    }
    blocks.push(block);
    i = end;
  }
  return { path: label, workdir: PAGE_MARK.exec(text)?.[1] === 'repository' ? 'repository' : 'empty', blocks };
}

/** The script a run block executes: its selected lines. */
export function runnableText(block: DocBlock): string {
  if (block.mark?.kind !== 'run' || !block.mark.lines) return block.content;
  const [from, to] = block.mark.lines;
  return block.content.split('\n').slice(from - 1, to).join('\n') + '\n';
}
