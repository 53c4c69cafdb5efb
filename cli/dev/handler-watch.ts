/**
 * Calls back when a handler file changes. It watches each file's directory, not the file: editors save by
 * writing a new file and renaming it over the old one, which ends a watch on the file itself. Bursts of
 * events (one save is often several) are debounced into one call per file.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface HandlerWatch {
  close(): void;
}

export function watchHandlerFiles(files: string[], onChange: (file: string) => void, debounceMs = 300): HandlerWatch {
  const byDir = new Map<string, Set<string>>();
  for (const file of files) {
    const names = byDir.get(dirname(file)) ?? new Set<string>();
    names.add(basename(file));
    byDir.set(dirname(file), names);
  }
  const timers = new Map<string, NodeJS.Timeout>();
  const watchers: FSWatcher[] = [];
  for (const [dir, names] of byDir) {
    const watcher = watch(dir, (_event, name) => {
      if (!name || !names.has(name.toString())) return;
      const file = join(dir, name.toString());
      clearTimeout(timers.get(file));
      timers.set(
        file,
        setTimeout(() => {
          timers.delete(file);
          onChange(file);
        }, debounceMs),
      );
    });
    // A directory removed under us is not worth crashing dev mode over.
    watcher.on('error', () => {});
    watchers.push(watcher);
  }
  return {
    close() {
      for (const w of watchers) w.close();
      for (const t of timers.values()) clearTimeout(t);
    },
  };
}
