/**
 * What `asya dev` shows. On a terminal: a table of the actors redrawn in place, with log lines scrolling
 * above it. Elsewhere (a pipe, CI): plain log lines on stderr and no table while it runs, so a log file gets
 * no redraw noise; the table is printed once, when dev mode stops. With ASYA_LOG_FORMAT=json every line is a
 * JSON object (jsonBoard): no table, and the closing numbers as one line per actor.
 */
import type { ActorStats } from '../../gateway/console/sources.ts';
import { createLogger, jsonLine, type LogFields, type LogFormat, type Logger, type LogLevel } from '../../protocol/index.ts';

/** One actor's row: the numbers the console's actors page shows too (gateway/console/sources.ts). */
export type ActorRow = ActorStats;

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

export function statusBoard(live: boolean, format: LogFormat = 'text'): StatusBoard {
  if (format === 'json') return jsonBoard();
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

/** dev mode's own lines on stderr, the demo's output on stdout, each one JSON object. */
function jsonBoard(): StatusBoard {
  let rows: ActorRow[] = [];
  return {
    // A runtime's line arrives already JSON (runtimeLine) and passes as it is.
    log: (line) => void process.stderr.write(`${parseJsonObject(line) ? line : jsonLine('INFO', 'asya.dev', line)}\n`),
    print: (line) => void process.stdout.write(`${jsonLine('INFO', 'asya.dev', line)}\n`),
    update: (next) => void (rows = next),
    close() {
      for (const { name, ...numbers } of rows) process.stderr.write(`${jsonLine('INFO', 'asya.dev', 'actor totals', numbers, name)}\n`);
    },
  };
}

/**
 * A line a runtime child printed, as dev mode shows it. Text: prefixed with the actor. JSON: a runtime that
 * logs JSON passes through with its actor named; anything else it prints (a handler's print()) is wrapped.
 */
export function runtimeLine(line: string, actor: string, format: LogFormat): string {
  if (format === 'text') return `[${actor}] ${line}`;
  const parsed = parseJsonObject(line);
  return parsed ? JSON.stringify({ ...parsed, actor: parsed.actor ?? actor }) : jsonLine('INFO', 'asya.runtime', line, { output: 'unstructured' }, actor);
}

/** The object a JSON log line holds, or undefined for any other line. */
export function parseJsonObject(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const LEVELS = { DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40 } as const;

/**
 * A component logger whose lines go through the board, so they never tear the table. JSON lines need no
 * board (there is no table then) and go straight to stderr, like a component's own.
 */
export function boardLogger(board: StatusBoard, level: LogLevel, name: string, format: LogFormat = 'text', actor?: string): Logger {
  if (format === 'json') return createLogger(level, name, { format, ...(actor ? { actor } : {}) });
  const min = LEVELS[level];
  const shownName = actor ? `${name}.${actor}` : name;
  const write = (lvl: keyof typeof LEVELS, message: string, fields?: LogFields) => {
    if (LEVELS[lvl] < min) return;
    const extra = fields ? Object.entries(fields).filter(([k, v]) => k !== 'traceparent' && v !== undefined).map(([k, v]) => ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join('') : '';
    board.log(`${lvl} ${shownName}: ${message}${extra}`);
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
