/**
 * The console's files as they ship: type-checked JavaScript (checkJs with the DOM's types, strict), every
 * module they import present in the folder, and nothing fetched from another origin.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const UI = join(import.meta.dirname, '../ui');
const ROOT = join(import.meta.dirname, '../..');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? files(join(dir, name)) : [join(dir, name)]));
}

describe('console files', () => {
  it('type-check with tsc (checkJs, strict, DOM types)', () => {
    // Throws with tsc's report when it finds a problem.
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(UI, 'tsconfig.json')], { encoding: 'utf8', stdio: 'pipe' });
  }, 120_000);

  it('import only modules of their own folder, and nothing from another origin', () => {
    const shipped = files(UI).filter((f) => /\.(js|html|css)$/.test(f));
    for (const file of shipped) {
      const text = readFileSync(file, 'utf8');
      expect(text, relative(UI, file)).not.toMatch(/(src|href)="(https?:)?\/\//);
      expect(text, relative(UI, file)).not.toMatch(/url\(\s*['"]?(https?:)?\/\//);
      for (const [, target] of text.matchAll(/from '(\.[^']+)'/g)) {
        expect(statSync(join(file, '..', target!)).isFile(), `${relative(UI, file)} imports ${target}`).toBe(true);
      }
    }
  });
});
