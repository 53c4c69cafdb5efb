/**
 * Gates that hold handler calls in flight for as long as a test needs, without timing assumptions: the
 * `gated` fixture of runtime/testdata/handlers, and an example's Python handler edited to wait.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

/** The directory of the `gated` fixture: calls report in `started` and wait until `open` exists. */
export interface FixtureGate {
  readonly dir: string;
  /** `{gate_dir}` for a payload, or `{FIXTURE_GATE_DIR}` for a runtime's environment. */
  readonly payload: { gate_dir: string };
  readonly env: { FIXTURE_GATE_DIR: string };
  /** How many calls have started (each is held until open()). */
  started(): number;
  open(): void;
  dispose(): void;
}

export function fixtureGate(): FixtureGate {
  const dir = mkdtempSync(join(tmpdir(), 'asya-gate-'));
  const startedFile = join(dir, 'started');
  return {
    dir,
    payload: { gate_dir: dir },
    env: { FIXTURE_GATE_DIR: dir },
    started: () => (existsSync(startedFile) ? readFileSync(startedFile, 'utf8').trim().split('\n').filter(Boolean).length : 0),
    open: () => writeFileSync(join(dir, 'open'), ''),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
