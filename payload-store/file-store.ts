/** The payload store on a directory: `asya dev`, and volumes every pod of a pipeline mounts. */
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PayloadStoreUnavailableError, PayloadUnreadableError, type PayloadStore } from './store.ts';

export class FilePayloadStore implements PayloadStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  get location(): string {
    return this.root;
  }

  async put(key: string, body: Uint8Array): Promise<string> {
    const path = this.pathOfKey(key);
    try {
      await mkdir(dirname(path), { recursive: true });
      // Rename is atomic: a reader never sees half an object, and a rewrite of the same key is harmless.
      const temp = join(dirname(path), `.tmp-${randomUUID()}`);
      await writeFile(temp, body);
      await rename(temp, path);
    } catch (err) {
      throw new PayloadStoreUnavailableError(`cannot write ${path}: ${(err as Error).message}`, { cause: err });
    }
    return pathToFileURL(path).href;
  }

  async read(uri: string, size: number): Promise<Buffer> {
    const path = this.pathOfUri(uri);
    let handle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      throw this.openError(path, err);
    }
    try {
      const { size: actual } = await handle.stat();
      if (actual !== size) throw new PayloadUnreadableError(`${uri} holds ${actual} bytes, its reference says ${size}`);
      const buffer = Buffer.allocUnsafe(size);
      let filled = 0;
      while (filled < size) {
        const { bytesRead } = await handle.read(buffer, filled, size - filled, filled);
        if (bytesRead === 0) throw new PayloadUnreadableError(`${uri} ended after ${filled} of ${size} bytes`);
        filled += bytesRead;
      }
      return buffer;
    } finally {
      await handle.close();
    }
  }

  async stream(uri: string): Promise<Readable> {
    const path = this.pathOfUri(uri);
    try {
      await stat(path);
    } catch (err) {
      throw this.openError(path, err);
    }
    return createReadStream(path);
  }

  async deleteUnder(prefix: string): Promise<number> {
    const path = this.pathOfKey(prefix);
    let count = 0;
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
        if (entry.isDirectory()) await walk(join(dir, entry.name));
        else count++;
      }
    };
    await walk(path);
    await rm(path, { recursive: true, force: true });
    return count;
  }

  async days(): Promise<string[]> {
    const entries = await readdir(this.root, { withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  }

  private openError(path: string, err: unknown): Error {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return new PayloadUnreadableError(`payload object ${path} does not exist (deleted, or past retention)`);
    return new PayloadStoreUnavailableError(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }

  private pathOfKey(key: string): string {
    const path = resolve(this.root, key);
    if (!path.startsWith(this.root + sep)) throw new PayloadUnreadableError(`payload key ${JSON.stringify(key)} leaves ${this.root}`);
    return path;
  }

  /** A reference may only name a file inside this store: a forged one must not read the pod's files. */
  private pathOfUri(uri: string): string {
    let path: string;
    try {
      path = resolve(fileURLToPath(uri));
    } catch {
      throw new PayloadUnreadableError(`${uri} is not a file URI this store can read`);
    }
    if (!path.startsWith(this.root + sep)) throw new PayloadUnreadableError(`${uri} is outside the payload store ${this.root}`);
    return path;
  }
}
