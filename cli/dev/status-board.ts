/**
 * What `asya dev` shows. On a terminal: a table of the actors redrawn in place, with log lines scrolling
 * above it. Elsewhere (a pipe, CI): plain log lines on stderr and no table while it runs, so a log file gets
 * no redraw noise; the table is printed once, when dev mode stops.
 */
import type { LogFields, Logger } from '../../protocol/index.ts';

export interface ActorRow {
  name: string;
  /** up, starting, reloading, failed, stopped. */
  state: string;
  /** Ready and delayed messages in the actor's queue. */
  queued: number | undefined;
  inFlight: number;
  processed: number;
  errors: number;
  p50Ms: number | undefined;
}

export interface StatusBoard {
  /** A log line: above the table on a terminal, stderr otherwise. */
  log(line: string): void;
  /** Program output (the demo's results): above the table on a terminal, stdout otherwise. */
  print(line: string): void;
  /** New numbers for the table; drawn at once on a terminal. */
  update(rows: ActorRow[]): void;
  /** The last table stays on screen (or is printed once, when not on a terminal). */
  close(): void;
}

export function formatTable(rows: ActorRow[]): string[] {
  const header = ['ACTOR', 'STATE', 'QUEUED', 'IN-FLIGHT', 'PROCESSED', 'ERRORS', 'P50'];
  const cells = rows.map((r) => [
    r.name,
    r.state,
    r.queued === undefined ? '?' : String(r.queued),
    String(r.inFlight),
    String(r.processed),
    String(r.errors),
    r.p50Ms === undefined ? '-' : r.p50Ms < 10 ? `${r.p50Ms.toFixed(1)} ms` : `${Math.round(r.p50Ms)} ms`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  // Names and states read left-aligned, numbers right-aligned.
  const line = (c: string[]) => c.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...cells.map(line)];
}

export function statusBoard(live: boolean): StatusBoard {
  let rows: ActorRow[] = [];
  if (!live) {
    return {
      log: (line) => void process.stderr.write(`${line}\n`),
      print: (line) => void process.stdout.write(`${line}\n`),
      update: (next) => void (rows = next),
      close: () => {
        if (rows.length > 0) process.stderr.write(`${formatTable(rows).join('\n')}\n`);
      },
    };
  }
  const out = process.stdout;
  let drawn = 0;
  let closed = false;
  const erase = () => {
    if (drawn > 0) out.write(`\x1b[${drawn}F\x1b[J`);
    drawn = 0;
  };
  const draw = () => {
    if (closed || rows.length === 0) return;
    // A line wider than the terminal would wrap and throw off the count of lines to erase.
    const width = (out.columns > 0 ? out.columns : 120) - 1;
    const lines = formatTable(rows).map((l) => l.slice(0, width));
    out.write(`${lines.join('\n')}\n`);
    drawn = lines.length;
  };
  const above = (line: string) => {
    erase();
    out.write(`${line}\n`);
    draw();
  };
  return {
    log: above,
    print: above,
    update(next) {
      rows = next;
      erase();
      draw();
    },
    close() {
      // The last table stays where it is; later lines go below it.
      closed = true;
      drawn = 0;
    },
  };
}

const LEVELS = { DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40 } as const;

/** A component logger whose lines go through the board, so they never tear the table. */
export function boardLogger(board: StatusBoard, level: keyof typeof LEVELS, name: string): Logger {
  const min = LEVELS[level];
  const write = (lvl: keyof typeof LEVELS, message: string, fields?: LogFields) => {
    if (LEVELS[lvl] < min) return;
    const extra = fields ? Object.entries(fields).map(([k, v]) => ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join('') : '';
    board.log(`${lvl} ${name}: ${message}${extra}`);
  };
  return {
    debug: (m, f) => {
      if (min <= LEVELS.DEBUG) write('DEBUG', typeof m === 'function' ? m() : m, f);
    },
    info: (m, f) => write('INFO', m, f),
    warn: (m, f) => write('WARNING', m, f),
    error: (m, f) => write('ERROR', m, f),
  };
}
