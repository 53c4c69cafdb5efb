/**
 * `asya` installed the way a user installs it: `npm pack` of this repository (test/support/pack.ts), then `npm install <tarball>`
 * into an empty project. Its `node_modules/.bin` goes first on PATH for commands run "as a user".
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packRepository } from './pack.ts';

export interface PackedAsya {
  tarball: string;
  /** The project the tarball is installed in. */
  toolbox: string;
  /** Its node_modules/.bin, where the `asya` command is. */
  bin: string;
}

/** Packs into `scratch` and installs into `scratch`/toolbox (slow: give the calling hook minutes). */
export function installPackedAsya(scratch: string): PackedAsya {
  const { tarball } = packRepository(scratch);
  const toolbox = join(scratch, 'toolbox');
  mkdirSync(toolbox);
  writeFileSync(join(toolbox, 'package.json'), '{"name": "toolbox", "private": true}\n');
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: toolbox, stdio: 'ignore' });
  return { tarball, toolbox, bin: join(toolbox, 'node_modules', '.bin') };
}
