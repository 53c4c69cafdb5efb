/**
 * Makes an example's Python handler wait for a gate file before it works, so a test can hold calls in
 * flight and in the queue for as long as it needs, without timing assumptions.
 */
import { join } from 'node:path';
import { editFile } from './dev-process.ts';

/** Edits `<dir>/handlers/<module>.py` so its `process` blocks until `<dir>/gate` exists; returns the gate path. */
export function gateHandler(dir: string, module: string): string {
  const gate = join(dir, 'gate');
  editFile(join(dir, 'handlers', `${module}.py`), (text) =>
    text.replace(
      /def process\(payload\):\n/,
      `def process(payload):\n    import os, time\n    while not os.path.exists(${JSON.stringify(gate)}):\n        time.sleep(0.05)\n`,
    ),
  );
  return gate;
}
