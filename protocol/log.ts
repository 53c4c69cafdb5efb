/** A minimal leveled logger; payloads are only ever rendered at DEBUG, lazily, so INFO stays cheap. */
export interface Logger {
  debug(message: string | (() => string)): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

const LEVELS = { DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40 } as const;
export type LogLevel = keyof typeof LEVELS;

/** Lenient like the original's getattr(logging, level, INFO): unknown levels mean INFO. */
export function parseLogLevel(raw: string | undefined): LogLevel {
  const level = (raw || 'INFO').toUpperCase();
  if (level === 'WARN') return 'WARNING';
  return level in LEVELS ? (level as LogLevel) : 'INFO';
}

export function createLogger(level: LogLevel, name: string): Logger {
  const min = LEVELS[level];
  const write = (lvl: keyof typeof LEVELS, message: string) => {
    if (LEVELS[lvl] >= min) process.stderr.write(`${new Date().toISOString()} ${lvl} ${name}: ${message}\n`);
  };
  return {
    debug: (m) => {
      if (min <= LEVELS.DEBUG) write('DEBUG', typeof m === 'function' ? m() : m);
    },
    info: (m) => write('INFO', m),
    warn: (m) => write('WARNING', m),
    error: (m) => write('ERROR', m),
  };
}
