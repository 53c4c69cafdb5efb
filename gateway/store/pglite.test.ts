import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeConformance } from './conformance.case.ts';
import { openPgliteStore, writePgliteTemplate } from './pglite.ts';
import { templateFileName } from './pglite-template.ts';

/** initdb's result, written once for this file as `make build` writes it into dist/pglite. */
let templates: string;
let template: string;
beforeAll(async () => {
  templates = mkdtempSync(join(tmpdir(), 'asya-template-test-'));
  template = await writePgliteTemplate(templates);
});
afterAll(() => rmSync(templates, { recursive: true, force: true }));

storeConformance('pglite (initdb)', {
  open: () => openPgliteStore({ template: false }),
  openThrowaway: () => openPgliteStore({ template: false }),
});

storeConformance('pglite (from the build template)', {
  open: () => openPgliteStore({ template }),
  openThrowaway: () => openPgliteStore({ template }),
});

describe.each([
  ['initdb', () => false as const],
  ['the build template', () => template],
])('pglite: a data directory started by %s', (_name, templateOf) => {
  it('keeps envelopes and events across close and reopen (migrations re-run as a no-op)', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'asya-pglite-')), 'data');
    try {
      const first = await openPgliteStore({ dataDir: dir, template: templateOf() });
      await first.create({ id: 'kept', actors: ['a'], payload: { n: 1 } });
      await first.setFinal('kept', { status: 'succeeded', result: 'r' });
      await first.close();
      expect(existsSync(join(dir, 'PG_VERSION'))).toBe(true);
      // A directory that holds a database is resumed, never overwritten by the template.
      const second = await openPgliteStore({ dataDir: dir, template });
      expect(await second.get('kept')).toMatchObject({ status: 'succeeded', result: 'r', payload: { n: 1 } });
      expect((await second.eventsSince('kept', 0)).map((e) => e.status)).toEqual(['pending', 'succeeded']);
      await second.close();
    } finally {
      await rm(join(dir, '..'), { recursive: true, force: true });
    }
  });
});

/** This process's scratch directories in the temporary directory (pglite.ts: placeData). */
function scratchDirs(pid = process.pid): string[] {
  return readdirSync(tmpdir()).filter((entry) => entry.startsWith(`asya-pglite-mem-${pid}-`));
}

/** A one-entry ustar archive, gzipped, as a hostile or broken template would be. */
function tarWith(name: string, type: string, body = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, 'latin1');
  header.write('0000600\0', 100, 'latin1');
  header.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  header.write(type, 156, 'latin1');
  header.write('ustar\0', 257, 'latin1');
  const padding = Buffer.alloc((512 - (body.length % 512)) % 512);
  return gzipSync(Buffer.concat([header, body, padding, Buffer.alloc(1024)]));
}

describe('pglite: a store with no data directory, from the template', () => {
  it('keeps its database in a scratch directory of its own and removes it on close', async () => {
    const before = scratchDirs();
    // The template carries the migrations: a store that applies none still has every table.
    const store = await openPgliteStore({ template, migrate: false });
    const mine = scratchDirs().filter((entry) => !before.includes(entry));
    expect(mine).toHaveLength(1);
    expect(existsSync(join(tmpdir(), mine[0]!, 'PG_VERSION'))).toBe(true);
    await store.create({ id: 'scratch', actors: ['a'], payload: { n: 2 } });
    expect(await store.get('scratch')).toMatchObject({ status: 'pending', payload: { n: 2 } });
    await store.close();
    expect(existsSync(join(tmpdir(), mine[0]!))).toBe(false);
  });

  it('removes the scratch directories of processes that are gone, and leaves live ones', async () => {
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const orphan = join(tmpdir(), `asya-pglite-mem-${gone.stdout}-orphan`);
    const live = join(tmpdir(), `asya-pglite-mem-${process.pid}-live`);
    mkdtempSync(orphan);
    const orphanDir = readdirSync(tmpdir()).find((entry) => entry.startsWith(`asya-pglite-mem-${gone.stdout}-orphan`))!;
    mkdtempSync(live);
    const liveDir = readdirSync(tmpdir()).find((entry) => entry.startsWith(`asya-pglite-mem-${process.pid}-live`))!;
    try {
      const store = await openPgliteStore({ template });
      await store.close();
      expect(existsSync(join(tmpdir(), orphanDir))).toBe(false);
      expect(existsSync(join(tmpdir(), liveDir))).toBe(true);
    } finally {
      rmSync(join(tmpdir(), liveDir), { recursive: true, force: true });
    }
  });
});

describe('pglite: a broken or hostile template', () => {
  const cases: Array<[string, () => Buffer, RegExp]> = [
    ['not gzip at all', () => Buffer.from('not a tar'), /is not a gzipped tar.*make build/],
    ['a path that leaves the data directory', () => tarWith('../escaped', '0', Buffer.from('x')), /names a path outside the data directory: \.\.\/escaped/],
    ['a symbolic link', () => tarWith('/link', '2'), /holds an entry of tar type '2' \(\/link\)/],
  ];

  it.each(cases)('%s: a clear error, and nothing left behind in a new data directory or scratch', async (_name, bytes, message) => {
    const file = join(templates, 'broken.tar.gz');
    writeFileSync(file, bytes());
    const parent = await mkdtemp(join(tmpdir(), 'asya-pglite-'));
    const dir = join(parent, 'data');
    const before = scratchDirs();
    try {
      await expect(openPgliteStore({ dataDir: dir, template: file })).rejects.toThrow(message);
      expect(existsSync(dir)).toBe(false);
      mkdirSync(dir);
      await expect(openPgliteStore({ dataDir: dir, template: file })).rejects.toThrow(message);
      expect(readdirSync(dir)).toEqual([]);
      expect(existsSync(join(parent, 'escaped'))).toBe(false);
      await expect(openPgliteStore({ template: file })).rejects.toThrow(message);
      expect(scratchDirs()).toEqual(before);
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });

  it('is named by the PGlite version that wrote it and the migrations in it, so no other build reads it', () => {
    expect(template.endsWith(templateFileName())).toBe(true);
    expect(templateFileName('0.0.1')).toMatch(/^pgdata-pglite-0\.0\.1-schema-[0-9a-f]{12}\.tar\.gz$/);
    expect(templateFileName('0.0.1', [])).not.toBe(templateFileName('0.0.1'));
    expect(templateFileName('0.0.1', [{ version: 1, name: 'initial', sql: 'create table edited ()' }])).not.toBe(templateFileName('0.0.1', [{ version: 1, name: 'initial', sql: 'create table t ()' }]));
  });
});
